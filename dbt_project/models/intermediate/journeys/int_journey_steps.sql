{#- Each step of every journey: a touch and the next one (a hash join on the touch number, not a window sort), or,
    after the last touch, the journey's end: (conversion) or (null). -#}
with touches as (
    select journey_id, is_converted, converted_at, touch_number, journey_touches, occurred_at, channel, device_type
    from {{ ref('int_journey_touches') }}
)

select
    t.journey_id,
    t.is_converted,
    t.touch_number as from_touch_number,
    t.journey_touches,
    t.channel as from_channel,
    coalesce(n.channel, case when t.is_converted then '(conversion)' else '(null)' end) as to_channel,
    {{ dbt.datediff('t.occurred_at', 'coalesce(n.occurred_at, t.converted_at)', 'second') }} as gap_seconds,
    t.device_type as from_device_type,
    n.device_type as to_device_type
from touches as t
left join touches as n on t.journey_id = n.journey_id and n.touch_number = t.touch_number + 1
