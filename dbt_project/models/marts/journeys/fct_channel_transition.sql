{#- Where customers switch channel: each from-channel -> to-channel step between consecutive engagement touches of
    a journey, with counts and the median gap, and how often the step came right before a purchase (its to-touch
    was the journey's last before the conversion). The final step of every journey is also counted, to
    '(conversion)' or '(null)', as the Markov model reads it. -#}
with steps as (
    select
        journey_id,
        is_converted,
        touch_number,
        journey_touches,
        channel as from_channel,
        coalesce(next_channel, case when is_converted then '(conversion)' else '(null)' end) as to_channel,
        {{ dbt.datediff('occurred_at', 'coalesce(next_occurred_at, converted_at)', 'second') }} as gap_seconds
    from {{ ref('int_journey_touches') }}
)

select
    from_channel,
    to_channel,
    from_channel <> to_channel and to_channel not in ('(conversion)', '(null)') as is_channel_switch,
    count(*) as transitions,
    count(distinct journey_id) as journeys,
    sum(case when is_converted then 1 else 0 end) as transitions_in_converting_journeys,
    sum(case when is_converted and touch_number + 1 = journey_touches then 1 else 0 end) as transitions_before_purchase,
    {{ median('gap_seconds') }} as median_gap_seconds
from steps
group by from_channel, to_channel
