{#- The engagement touches of every journey, in order. A customer's touches are cut into conversion cycles: a
    touch belongs to the customer's next conversion at or after it (a touch at the same instant comes first), so
    paths reset at the previous purchase and repeat buyers' touches are never credited twice. Touches older than
    var('attribution_lookback_days') before the conversion are left out. Touches after a customer's last
    conversion form a non-converting journey, over the same window back from its last touch. The same channel
    engaged again within var('attribution_repeat_touch_seconds') of the previous touch is one interaction seen
    twice: it counts once, at its first sighting (so an interaction that began before the window stays out).
    Each touch also carries the next touch of its journey (a step, for transitions and the Markov chain).
    One sort of the customer's events does the cycles and repeats, one sort of the kept touches numbers them and
    finds each next touch; the rest are hash joins. -#}
{%- set lookback_seconds = (var('attribution_lookback_days') | int) * 86400 -%}
{%- set repeat_seconds = var('attribution_repeat_touch_seconds') | int -%}

with events as (
    select
        customer_id,
        occurred_at as event_at,
        0 as is_conversion,
        touchpoint_id as event_key,
        engagement_channel as channel,
        campaign_id,
        device_type
    from {{ ref('fct_touchpoint') }}
    where engagement_channel is not null

    union all

    select
        customer_id,
        converted_at as event_at,
        1 as is_conversion,
        conversion_id as event_key,
        cast(null as {{ dbt.type_string() }}) as channel,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as device_type
    from {{ ref('fct_conversion') }}
    where customer_id is not null
),

ordered as (
    select
        *,
        -- The cycle of an event is one more than the customer's conversions before it.
        1 + coalesce(sum(is_conversion) over (
            partition by customer_id order by event_at, is_conversion, event_key
            rows between unbounded preceding and 1 preceding
        ), 0) as cycle,
        lag(is_conversion) over (partition by customer_id order by event_at, is_conversion, event_key)
            as previous_is_conversion,
        lag(channel) over (partition by customer_id order by event_at, is_conversion, event_key) as previous_channel,
        lag(event_at) over (partition by customer_id order by event_at, is_conversion, event_key) as previous_at,
        row_number() over (partition by customer_id order by event_at, is_conversion, event_key) as event_position
    from events
),

distinct_touches as (
    select *
    from ordered
    where is_conversion = 0
        and not (
            coalesce(previous_is_conversion, 1) = 0
            and channel = previous_channel
            and {{ dbt.datediff('previous_at', 'event_at', 'second') }} <= {{ repeat_seconds }}
        )
),

conversions as (
    select customer_id, cycle, event_key as conversion_id, event_at as converted_at
    from ordered
    where is_conversion = 1
),

open_ends as (
    select t.customer_id, t.cycle, max(t.event_at) as ended_at
    from distinct_touches as t
    left join conversions as c on t.customer_id = c.customer_id and t.cycle = c.cycle
    where c.conversion_id is null
    group by t.customer_id, t.cycle
),

placed as (
    select
        t.customer_id,
        t.cycle,
        t.event_key as touchpoint_id,
        t.event_at as occurred_at,
        t.channel,
        t.campaign_id,
        t.device_type,
        t.event_position,
        c.conversion_id,
        c.converted_at,
        coalesce(c.converted_at, o.ended_at) as journey_end_at
    from distinct_touches as t
    left join conversions as c on t.customer_id = c.customer_id and t.cycle = c.cycle
    left join open_ends as o on c.conversion_id is null and t.customer_id = o.customer_id and t.cycle = o.cycle
),

in_window as (
    select
        *,
        -- A converting journey is named by its conversion; a customer has one open (non-converting) journey at most.
        coalesce(conversion_id, 'open:' || customer_id) as journey_id
    from placed
    where {{ dbt.datediff('occurred_at', 'journey_end_at', 'second') }} <= {{ lookback_seconds }}
),

numbered as (
    select
        *,
        row_number() over (partition by journey_id order by event_position) as touch_number,
        count(*) over (partition by journey_id) as journey_touches,
        lead(channel) over (partition by journey_id order by event_position) as next_channel,
        lead(occurred_at) over (partition by journey_id order by event_position) as next_occurred_at,
        lead(device_type) over (partition by journey_id order by event_position) as next_device_type
    from in_window
)

select
    journey_id,
    customer_id,
    cycle,
    conversion_id,
    converted_at,
    conversion_id is not null as is_converted,
    journey_end_at,
    touch_number,
    journey_touches,
    touchpoint_id,
    occurred_at,
    channel,
    campaign_id,
    device_type,
    next_channel,
    next_occurred_at,
    next_device_type
from numbered
