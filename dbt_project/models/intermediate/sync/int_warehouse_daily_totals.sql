{#- What the warehouse holds per source, UTC event day and metric, keyed exactly as the sources' _control totals,
    beside what `omnichannel forget` erased: events the sources counted that the warehouse must not hold. -#}
{%- set erased_source = source('raw', 'erased_daily_totals') -%}
{%- set erased_relation = adapter.get_relation(database=erased_source.database, schema=erased_source.schema,
                                               identifier=erased_source.identifier) -%}

with metrics as (
    select * from {{ ref('int_warehouse_event_metrics') }}
),

held as (
    select source, event_date, metric_kind, metric, sum(value) as value
    from metrics
    where distinct_key is null
    group by source, event_date, metric_kind, metric
    union all
    select source, event_date, metric_kind, metric, count(distinct distinct_key) as value
    from metrics
    where distinct_key is not null
    group by source, event_date, metric_kind, metric
),

erased as (
    {%- if erased_relation is not none %}
    select source, event_date, metric_kind, metric, sum(value) as value
    from {{ erased_source }}
    group by source, event_date, metric_kind, metric
    {%- else %}
    -- Nobody was ever forgotten: forget creates the table.
    select
        cast(null as {{ dbt.type_string() }}) as source,
        cast(null as date) as event_date,
        cast(null as {{ dbt.type_string() }}) as metric_kind,
        cast(null as {{ dbt.type_string() }}) as metric,
        cast(null as decimal(38, 6)) as value
    where 1 = 0
    {%- endif %}
)

select
    coalesce(h.source, e.source) as source,
    coalesce(h.event_date, e.event_date) as event_date,
    coalesce(h.metric_kind, e.metric_kind) as metric_kind,
    coalesce(h.metric, e.metric) as metric,
    cast(coalesce(h.value, 0) as decimal(38, 6)) as value,
    cast(coalesce(e.value, 0) as decimal(38, 6)) as erased
from held as h
full outer join erased as e
    on h.source = e.source and h.event_date = e.event_date and h.metric_kind = e.metric_kind and h.metric = e.metric
