{#- What happened to every staged contact, per event day and channel: in fct_touchpoint, excluded as bot traffic,
    or unresolved (its only identifiers are junk, so it belongs to no customer). The three add up to the staged rows. -#}
with touches as (
    select
        u.event_date,
        u.channel,
        case
            when u.is_bot then 'bot'
            when r.customer_id is null then 'unresolved'
            else 'included'
        end as outcome
    from {{ ref('int_touchpoints_unioned') }} as u
    left join {{ ref('int_records_customers') }} as r on u.record_id = r.record_id
)

select
    event_date,
    channel,
    count(*) as staged_touches,
    sum(case when outcome = 'included' then 1 else 0 end) as included_touches,
    sum(case when outcome = 'bot' then 1 else 0 end) as bot_touches,
    sum(case when outcome = 'unresolved' then 1 else 0 end) as unresolved_touches
from touches
group by event_date, channel
