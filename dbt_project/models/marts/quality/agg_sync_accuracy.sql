-- Sync accuracy: per source, UTC event day and metric, what the source system says beside what the warehouse holds.
-- Counts must match exactly after dedup and money to the cent (tolerances are vars); a day still inside the
-- settling window, when late data can still arrive, is "not_yet_synced" rather than an error. Events that
-- `omnichannel forget` erased are accounted for in their own column (erased_value), never folded in silently.
-- Only what the source systems count themselves belongs here: whether the systems agree with one another (the ESP's
-- address for a CRM customer, opt-outs reaching each channel) is agg_cross_system_agreement, reported, not blocking.
with control as (
    select source, event_date, metric_kind, metric, value from {{ ref('stg_control__totals') }}
),

control_days as (
    select distinct source, event_date from control
),

warehouse as (
    select source, event_date, metric_kind, metric, value, erased from {{ ref('int_warehouse_daily_totals') }}
),

totals as (
    select
        coalesce(c.source, w.source) as source,
        coalesce(c.event_date, w.event_date) as event_date,
        coalesce(c.metric_kind, w.metric_kind) as metric_kind,
        coalesce(c.metric, w.metric) as metric,
        coalesce(c.value, 0) as control_value,
        coalesce(w.value, 0) as warehouse_value,
        coalesce(w.erased, 0) as erased_value,
        cd.source is not null as has_control
    from control as c
    full outer join warehouse as w
        on c.source = w.source and c.event_date = w.event_date
        and c.metric_kind = w.metric_kind and c.metric = w.metric
    left join control_days as cd
        on cd.source = coalesce(c.source, w.source) and cd.event_date = coalesce(c.event_date, w.event_date)
),

latest_delivery as (
    select max(delivery_date) as delivery_date from {{ ref('stg_control__delivery_days') }}
),

measured as (
    select
        c.*,
        abs(c.warehouse_value + c.erased_value - c.control_value) as abs_difference,
        case when c.control_value = 0 then null
            else abs(c.warehouse_value + c.erased_value - c.control_value) / abs(c.control_value)
        end as rel_difference,
        c.event_date > {{ dbt.dateadd('day', -var('sync_settling_days', 3), 'l.delivery_date') }} as within_settling_window
    from totals as c
    cross join latest_delivery as l
)

select
    source, event_date, metric_kind, metric, control_value, warehouse_value, erased_value, abs_difference, rel_difference,
    within_settling_window,
    case
        when not has_control then 'no_control_totals'
        when metric_kind = 'sum' and abs_difference <= {{ var('sync_money_tolerance', 0.005) }} then 'ok'
        when metric_kind <> 'sum' and abs_difference <= {{ var('sync_count_tolerance', 0) }}
            and coalesce(rel_difference, 0) <= {{ var('sync_relative_tolerance', 0) }} then 'ok'
        when within_settling_window then 'not_yet_synced'
        else 'error'
    end as status
from measured
