{#- What each staged row counts toward the daily totals, with its lineage (file and line): one row per staged row
    and metric. A view, read whole by int_warehouse_daily_totals and, by lineage, by `omnichannel forget`, which
    tallies the rows it erases with these same definitions. `distinct_key` is set where the source counts distinct
    keys rather than rows (an order's versions count once a day); otherwise `value` adds up. -#}
{{ config(materialized='view') }}

with first_placed_orders as (
    select
        source_file, source_line, event_date, total_price,
        row_number() over (partition by order_id order by updated_at, delivery_date, source_file, source_line) as version
    from {{ ref('stg_orders__order_versions') }}
),

metrics as (
    {%- set counted = [
        ('email', 'stg_email__events', 'event_date', 'event_type'),
        ('sms', 'stg_sms__messages', 'event_date', 'status'),
        ('push', 'stg_push__events', 'event_date', 'event_type'),
        ('web', 'stg_web__events', 'event_date', 'event_type'),
        ('app', 'stg_app__events', 'event_date', 'event_type'),
        ('ads', 'stg_ads__clicks', 'event_date', "'click'"),
        ('social', 'stg_social__engagements', 'event_date', 'action'),
        ('support', 'stg_support__tickets', 'event_date', "'ticket'"),
        ('pos', 'stg_pos__transactions', 'event_date', 'transaction_type'),
        ('crm', 'stg_crm__customer_rows', 'delivery_date', "'customers'"),
    ] %}
    {%- for source, model, day, metric in counted %}
    select '{{ source }}' as source, source_file, source_line, {{ day }} as event_date, 'count' as metric_kind,
        {{ metric }} as metric, 1 as value, cast(null as {{ dbt.type_string() }}) as distinct_key
    from {{ ref(model) }}
    union all
    {%- endfor %}
    -- The CRM counts rows in each day's customers.csv, by delivery day (above); the shop counts orders.
    select 'orders', source_file, source_line, event_date, 'count', 'orders', null, order_id
    from {{ ref('stg_orders__order_versions') }}
    union all
    select 'orders', source_file, source_line, event_date, 'sum', 'total_price', total_price, null
    from first_placed_orders
    where version = 1
    union all
    select 'pos', source_file, source_line, event_date, 'sum', 'total', amount, null
    from {{ ref('stg_pos__transactions') }}
)

select
    source,
    source_file,
    source_line,
    event_date,
    metric_kind,
    metric,
    cast(value as decimal(38, 6)) as value,
    distinct_key
from metrics
