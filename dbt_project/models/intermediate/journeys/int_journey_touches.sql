{#- The engagement touches of every journey, in order. A customer's touches are cut into conversion cycles: a
    touch belongs to the customer's next conversion at or after it (a touch at the same instant comes first), so
    paths reset at the previous purchase and repeat buyers' touches are never credited twice. Touches older than
    var('attribution_lookback_days') before the conversion are left out. Touches after a customer's last
    conversion form a non-converting journey, over the same window back from its last touch. The same channel
    engaged again within var('attribution_repeat_touch_seconds') of the previous touch is one interaction seen
    twice: it counts once, at its first sighting (so an interaction that began before the window stays out).
    One sort of the customer's events does the cycles, repeats and order; the rest are hash joins and aggregates. -#}
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
            rows between unbounded preceding and 1 preceding), 0) as cycle,
        lag(is_conversion) over (partition by customer_id order by event_at, is_conversion, event_key)
            as previous_is_conversion,
        lag(channel) over (partition by customer_id order by event_at, is_conversion, event_key) as previous_channel,
        lag(event_at) over (partition by customer_id order by event_at, is_conversion, event_key) as previous_at
    from events
),

distinct_touches as (
    select
        *,
        -- Position among the customer's counted touches; a journey's touches are a contiguous run of it.
        row_number() over (partition by customer_id order by event_at, event_key) as touch_sequence
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
        t.touch_sequence,
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
        coalesce(conversion_id, {{ dbt.hash("customer_id || '|open'") }}) as journey_id
    from placed
    where {{ dbt.datediff('occurred_at', 'journey_end_at', 'second') }} <= {{ lookback_seconds }}
),

journey_spans as (
    select journey_id, min(touch_sequence) as first_sequence, max(touch_sequence) as last_sequence
    from in_window
    group by journey_id
)

select
    w.journey_id,
    w.customer_id,
    w.cycle,
    w.conversion_id,
    w.converted_at,
    w.conversion_id is not null as is_converted,
    w.journey_end_at,
    w.touch_sequence - s.first_sequence + 1 as touch_number,
    s.last_sequence - s.first_sequence + 1 as journey_touches,
    w.touchpoint_id,
    w.occurred_at,
    w.channel,
    w.campaign_id,
    w.device_type
from in_window as w
inner join journey_spans as s on w.journey_id = s.journey_id
