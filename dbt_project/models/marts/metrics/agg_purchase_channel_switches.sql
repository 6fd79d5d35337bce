{#- The channel switches that most often come right before a purchase (fct_channel_transition: the step whose
    to-touch was the journey's last before it converted), ranked, with their share of all such switches. -#}
with switches as (
    select from_channel, to_channel, transitions_before_purchase, transitions, median_gap_seconds
    from {{ ref('fct_channel_transition') }}
    where is_channel_switch and transitions_before_purchase > 0
)

select
    from_channel,
    to_channel,
    transitions_before_purchase,
    cast(transitions_before_purchase as double) / sum(transitions_before_purchase) over () as share_of_switches_before_purchase,
    transitions,
    median_gap_seconds,
    rank() over (order by transitions_before_purchase desc) as switch_rank
from switches
