{#- The engagement touches of every journey, in order. A customer's touches are cut into conversion cycles: a
    touch belongs to the customer's next conversion at or after it (a touch at the same instant comes first), so
    paths reset at the previous purchase and repeat buyers' touches are never credited twice. Touches older than
    var('attribution_lookback_days') before the conversion are left out. Touches after a customer's last
    conversion form a non-converting journey, over the same window back from its last touch. The same channel
    engaged again within var('attribution_repeat_touch_seconds') is one interaction seen twice: it counts once. -#}
{%- set lookback_seconds = (var('attribution_lookback_days') | int) * 86400 -%}
{%- set repeat_seconds = var('attribution_repeat_touch_seconds') | int -%}

with engaged as (
    select customer_id, touchpoint_id, occurred_at, engagement_channel as channel, campaign_id, device_type
    from {{ ref('fct_touchpoint') }}
    where engagement_channel is not null
),

conversions as (
    select conversion_id, customer_id, converted_at, revenue
    from {{ ref('fct_conversion') }}
    where customer_id is not null
),

events as (
    select customer_id, occurred_at as event_at, 0 as is_conversion, touchpoint_id as event_key
    from engaged
    union all
    select customer_id, converted_at as event_at, 1 as is_conversion, conversion_id as event_key
    from conversions
),

cycles as (
    -- The cycle of an event is one more than the conversions before it.
    select
        customer_id,
        is_conversion,
        event_key,
        1 + coalesce(sum(is_conversion) over (
            partition by customer_id order by event_at, is_conversion, event_key
            rows between unbounded preceding and 1 preceding), 0) as cycle
    from events
),

conversion_cycles as (
    select c.conversion_id, c.customer_id, c.converted_at, c.revenue, y.cycle
    from conversions as c
    inner join cycles as y on y.is_conversion = 1 and c.conversion_id = y.event_key
),

touch_cycles as (
    select e.*, y.cycle
    from engaged as e
    inner join cycles as y on y.is_conversion = 0 and e.touchpoint_id = y.event_key
),

placed as (
    select
        t.*,
        c.conversion_id,
        c.converted_at,
        c.revenue,
        coalesce(c.converted_at, max(t.occurred_at) over (partition by t.customer_id, t.cycle)) as journey_end_at
    from touch_cycles as t
    left join conversion_cycles as c on t.customer_id = c.customer_id and t.cycle = c.cycle
),

in_window as (
    select
        *,
        lag(channel) over (partition by customer_id, cycle order by occurred_at, touchpoint_id) as previous_channel,
        lag(occurred_at) over (partition by customer_id, cycle order by occurred_at, touchpoint_id) as previous_at
    from placed
    where {{ dbt.datediff('occurred_at', 'journey_end_at', 'second') }} <= {{ lookback_seconds }}
),

deduplicated as (
    select *
    from in_window
    where not (
        channel = coalesce(previous_channel, '')
        and {{ dbt.datediff('previous_at', 'occurred_at', 'second') }} <= {{ repeat_seconds }}
    )
)

select
    -- A converting journey is named by its conversion; a customer has one open (non-converting) journey at most.
    coalesce(conversion_id, {{ dbt.hash("customer_id || '|open'") }}) as journey_id,
    customer_id,
    cycle,
    conversion_id,
    converted_at,
    revenue,
    conversion_id is not null as is_converted,
    journey_end_at,
    row_number() over (partition by customer_id, cycle order by occurred_at, touchpoint_id) as touch_number,
    count(*) over (partition by customer_id, cycle) as journey_touches,
    touchpoint_id,
    occurred_at,
    channel,
    campaign_id,
    device_type
from deduplicated
