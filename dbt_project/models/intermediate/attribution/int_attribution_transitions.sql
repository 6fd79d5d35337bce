{#- First-order transition counts over every path (converting or not), the input of the Markov model:
    (start) -> first channel, each consecutive pair, last channel -> (conversion) or (null). -#}
with steps as (
    select
        case when touch_number = 1 then '(start)' end as start_state,
        channel,
        coalesce(next_channel, case when is_converted then '(conversion)' else '(null)' end) as next_state
    from {{ ref('int_journey_touches') }}
),

transitions as (
    select start_state as from_state, channel as to_state from steps
    where start_state is not null
    union all
    select channel as from_state, next_state as to_state from steps
)

select from_state, to_state, count(*) as transitions
from transitions
group by from_state, to_state
