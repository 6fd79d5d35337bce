{#- Per channel and UTC day: the marketing messages sent, those sent to customers who had opted out of the channel
    (past the grace period, and past the legal limit), and the compliance rate, the share that respected consent. -#}
with sends as (
    select channel, cast(sent_at as date) as message_date, count(*) as marketing_messages
    from {{ ref('int_messages_sent') }}
    where is_marketing
    group by 1, 2
),

violations as (
    select
        channel, violation_date as message_date, count(*) as violating_messages,
        count(*) filter (where is_past_legal_limit) as past_legal_limit_messages,
        count(distinct customer_id) as violated_customers
    from {{ ref('fct_preference_violation') }}
    group by 1, 2
)

select
    s.channel,
    s.message_date,
    s.marketing_messages,
    coalesce(v.violating_messages, 0) as violating_messages,
    coalesce(v.past_legal_limit_messages, 0) as past_legal_limit_messages,
    coalesce(v.violated_customers, 0) as violated_customers,
    1.0 - coalesce(v.violating_messages, 0) * 1.0 / s.marketing_messages as compliance_rate
from sends as s
left join violations as v on s.channel = v.channel and s.message_date = v.message_date
