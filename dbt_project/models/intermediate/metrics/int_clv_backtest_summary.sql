{#- The lifetime-value back-test's data: the history is split at a calibration date (var
    'clv_backtest_calibration_end', or var 'clv_backtest_calibration_share' of the days from the first purchase to
    the last); every customer who had bought by then gets the calibration summary (macro customer_purchase_summary)
    and the purchase days and revenue that followed, up to the last purchase day (the holdout). -#}
{%- set calibration_end = var('clv_backtest_calibration_end') -%}
{%- set share = var('clv_backtest_calibration_share') | float -%}

with purchase_days as (
    select * from {{ ref('int_customer_purchase_days') }}
),

history as (
    select min(purchase_date) as first_date, max(purchase_date) as last_date from purchase_days
),

period as (
    select
        {%- if calibration_end %}
        cast('{{ calibration_end }}' as date) as period_end,
        {%- else %}
        cast({{ dbt.dateadd('day', 'cast(floor(' ~ share ~ ' * ' ~ dbt.datediff('first_date', 'last_date', 'day')
                            ~ ') as integer)', 'first_date') }} as date) as period_end,
        {%- endif %}
        last_date
    from history
),

calibration as (
    {{ customer_purchase_summary('purchase_days', 'period') }}
),

holdout as (
    select d.customer_id, count(*) as holdout_purchase_days, sum(d.revenue) as holdout_revenue
    from purchase_days as d
    cross join period as p
    where d.purchase_date > p.period_end and d.purchase_date <= p.last_date
    group by d.customer_id
)

select
    c.customer_id,
    c.repeat_purchases,
    c.days_first_to_last,
    c.tenure_days,
    c.repeat_average_revenue,
    c.period_end as calibration_end,
    {{ dbt.datediff('p.period_end', 'p.last_date', 'day') }} as holdout_days,
    coalesce(h.holdout_purchase_days, 0) as holdout_purchase_days,
    coalesce(h.holdout_revenue, 0) as holdout_revenue,
    -- What the back-test check (orchestration/defs/metrics.py) reads: the build's vars, on every row.
    cast({{ var('clv_backtest_tolerated_total_error') | float }} as double) as tolerated_total_error,
    cast({{ var('clv_backtest_frequency_cap') | int }} as integer) as frequency_cap
from calibration as c
cross join period as p
left join holdout as h on c.customer_id = h.customer_id
