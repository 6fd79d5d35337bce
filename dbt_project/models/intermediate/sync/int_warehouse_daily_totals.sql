-- What the warehouse holds per source, UTC event day and metric, keyed exactly as the sources' _control totals.
with counts as (
    select 'email' as source, event_date, event_type as metric, count(*) as value
    from {{ ref('stg_email__events') }} group by 1, 2, 3
    union all
    select 'sms', event_date, status, count(*) from {{ ref('stg_sms__messages') }} group by 1, 2, 3
    union all
    select 'push', event_date, event_type, count(*) from {{ ref('stg_push__events') }} group by 1, 2, 3
    union all
    select 'web', event_date, event_type, count(*) from {{ ref('stg_web__events') }} group by 1, 2, 3
    union all
    select 'app', event_date, event_type, count(*) from {{ ref('stg_app__events') }} group by 1, 2, 3
    union all
    select 'ads', event_date, 'click', count(*) from {{ ref('stg_ads__clicks') }} group by 1, 2, 3
    union all
    select 'social', event_date, action, count(*) from {{ ref('stg_social__engagements') }} group by 1, 2, 3
    union all
    select 'support', event_date, 'ticket', count(*) from {{ ref('stg_support__tickets') }} group by 1, 2, 3
    union all
    select 'pos', event_date, transaction_type, count(*) from {{ ref('stg_pos__transactions') }} group by 1, 2, 3
    union all
    select 'orders', event_date, 'orders', count(distinct order_id) from {{ ref('stg_orders__order_versions') }} group by 1, 2, 3
    union all
    -- The CRM counts rows in each day's customers.csv, by delivery day.
    select 'crm', delivery_date, 'customers', count(*) from {{ ref('stg_crm__customer_rows') }} group by 1, 2, 3
),

first_placed_orders as (
    select order_id, event_date, total_price,
           row_number() over (partition by order_id order by updated_at, delivery_date, source_file, source_line) as version
    from {{ ref('stg_orders__order_versions') }}
),

sums as (
    select 'orders' as source, event_date, 'total_price' as metric, sum(total_price) as value
    from first_placed_orders where version = 1 group by 1, 2, 3
    union all
    select 'pos', event_date, 'total', sum(amount) from {{ ref('stg_pos__transactions') }} group by 1, 2, 3
)

select source, event_date, 'count' as metric_kind, metric, cast(value as decimal(38, 6)) as value from counts
union all
select source, event_date, 'sum' as metric_kind, metric, cast(value as decimal(38, 6)) as value from sums
