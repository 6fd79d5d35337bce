{#- First-order transition counts over every path (converting or not), the input of the Markov model:
    (start) -> first channel, each consecutive pair, last channel -> (conversion) or (null). -#}
with steps as (
    select
        case when touch_number = 1 then '(start)'
            else lag(channel) over (partition by journey_id order by touch_number) end as from_state,
        channel as to_state
    from {{ ref('int_journey_touches') }}

    union all

    select
        channel as from_state,
        case when is_converted then '(conversion)' else '(null)' end as to_state
    from {{ ref('int_journey_touches') }}
    where touch_number = journey_touches
)

select from_state, to_state, count(*) as transitions
from steps
group by from_state, to_state
