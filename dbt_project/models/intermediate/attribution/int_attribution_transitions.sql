{#- First-order transition counts over every path (converting or not), the input of the Markov model:
    (start) -> first channel, each consecutive pair, last channel -> (conversion) or (null). -#}
with steps as (
    select '(start)' as from_state, channel as to_state
    from {{ ref('int_journey_touches') }}
    where touch_number = 1

    union all

    select from_channel as from_state, to_channel as to_state
    from {{ ref('int_journey_steps') }}
)

select from_state, to_state, count(*) as transitions
from steps
group by from_state, to_state
