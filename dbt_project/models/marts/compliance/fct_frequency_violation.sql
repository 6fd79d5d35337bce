{#- Every breach of the contact policy, one row per message that broke a rule, with the messages that made it:
    a marketing message that is more than var('message_cap_max') in the rolling var('message_cap_window_days')
    ending at it across all channels (cross_channel_cap), or more than its channel's cap in
    var('message_channel_caps') (channel_cap), or sent in the customer's local quiet hours (quiet_hours). The
    window is (sent_at - window, sent_at]: a message exactly a window old has left it. Transactional messages are
    never capped. -#}
{%- set window_seconds = (var('message_cap_window_days') | float * 86400) | int -%}
{%- set channel_caps = var('message_channel_caps') or {} -%}

with marketing as (
    select * from {{ ref('int_messages_sent') }}
    where is_marketing
),

in_window as (
    -- Each marketing message with the customer's marketing messages in the window ending at it (itself included).
    select
        m.touchpoint_id, m.customer_id, m.channel, m.campaign_id, m.sent_at, m.sent_at_local,
        w.touchpoint_id as window_touchpoint_id, w.channel as window_channel, w.sent_at as window_sent_at
    from marketing as m
    inner join marketing as w
        on m.customer_id = w.customer_id
        and m.sent_at >= w.sent_at
        and w.sent_at > m.sent_at - interval '{{ window_seconds }} seconds'
),

cross_channel as (
    select
        touchpoint_id, customer_id, channel, campaign_id, sent_at, sent_at_local,
        'cross_channel_cap' as violation_type, {{ var('message_cap_max') | int }} as message_limit,
        count(*) as messages_in_window,
        {{ dbt.listagg('window_touchpoint_id', "','", "order by window_sent_at, window_touchpoint_id") }}
            as window_touchpoint_ids
    from in_window
    group by 1, 2, 3, 4, 5, 6
    having count(*) > {{ var('message_cap_max') | int }}
),

channel_caps as (
    -- var('message_channel_caps') as rows (none by default: then no message breaks a channel cap).
    {%- for c, cap in channel_caps.items() %}
    select '{{ c }}' as channel, {{ cap | int }} as message_limit
    union all
    {%- endfor %}
    select cast(null as varchar) as channel, cast(null as integer) as message_limit
    where false
),

per_channel as (
    select
        w.touchpoint_id, w.customer_id, w.channel, w.campaign_id, w.sent_at, w.sent_at_local,
        'channel_cap' as violation_type, c.message_limit,
        count(*) as messages_in_window,
        {{ dbt.listagg('w.window_touchpoint_id', "','", "order by w.window_sent_at, w.window_touchpoint_id") }}
            as window_touchpoint_ids
    from in_window as w
    inner join channel_caps as c on w.channel = c.channel
    where w.window_channel = w.channel
    group by 1, 2, 3, 4, 5, 6, 7, 8
    having count(*) > c.message_limit
),

quiet_hours as (
    select
        touchpoint_id, customer_id, channel, campaign_id, sent_at, sent_at_local,
        'quiet_hours' as violation_type, 0 as message_limit, 1 as messages_in_window,
        touchpoint_id as window_touchpoint_ids
    from marketing
    where is_quiet_hours
),

violations as (
    select * from cross_channel
    union all
    select * from per_channel
    union all
    select * from quiet_hours
)

select
    {{ dbt.hash("touchpoint_id || '|' || violation_type") }} as violation_id,
    customer_id,
    touchpoint_id,
    channel,
    campaign_id,
    violation_type,
    sent_at,
    sent_at_local,
    cast(sent_at as date) as violation_date,
    message_limit,
    messages_in_window,
    window_touchpoint_ids
from violations
