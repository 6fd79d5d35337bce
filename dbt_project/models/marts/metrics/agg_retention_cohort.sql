{#- Acquisition cohorts: customers by the period of their first purchase (var retention_period: month, or week for
    short histories) and engagement tier, and for every period since, up to the last one with data, how many
    bought again in it. Period 0 is the acquisition period itself (everyone in it bought). Cancelled orders are no
    purchase. -#}
with buyers as (
    select customer_id, engagement_tier, {{ retention_period_start('first_purchase_at') }} as cohort_month
    from {{ ref('int_customer_engagement_tiers') }}
    where first_purchase_at is not null
),

purchase_periods as (
    select distinct customer_id, {{ retention_period_start('converted_at') }} as period_start
    from {{ ref('fct_conversion') }}
    where customer_id is not null and not is_cancelled
),

observed_periods as (
    -- Every period the data reaches, purchases or not: a period where nobody came back is a retention of 0.
    select distinct {{ retention_period_start('converted_at') }} as period_start from {{ ref('fct_conversion') }}
    union
    select distinct {{ retention_period_start('occurred_at') }} from {{ ref('fct_touchpoint') }}
),

cohorts as (
    select cohort_month, engagement_tier, count(*) as customers
    from buyers
    group by cohort_month, engagement_tier
),

grid as (
    select c.cohort_month, c.engagement_tier, c.customers, o.period_start
    from cohorts as c
    inner join observed_periods as o on c.cohort_month <= o.period_start
),

retained as (
    select b.cohort_month, b.engagement_tier, p.period_start, count(distinct b.customer_id) as retained
    from buyers as b
    inner join purchase_periods as p on b.customer_id = p.customer_id and b.cohort_month <= p.period_start
    group by b.cohort_month, b.engagement_tier, p.period_start
)

select
    g.cohort_month,
    g.engagement_tier,
    {{ retention_periods_between('g.cohort_month', 'g.period_start') }} as months_since_first_purchase,
    g.period_start,
    g.customers,
    coalesce(r.retained, 0) as retained,
    cast(coalesce(r.retained, 0) as double) / g.customers as retention_rate
from grid as g
left join retained as r
    on g.cohort_month = r.cohort_month and g.engagement_tier = r.engagement_tier and g.period_start = r.period_start
