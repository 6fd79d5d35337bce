{#- Every message the brand sent a customer (the `sends` KPI of the registry's touchpoints.kpis), one row per
    message, with its local time, whether it is marketing (it has a campaign) or transactional (an order confirmation, a support
    reply: never capped), whether it falls in quiet hours, and the gap to the customer's previous message when that
    was on another channel. -#}
{%- set sends = send_touches() -%}
{%- set quiet_start = var('message_quiet_hours_start') | int -%}
{%- set quiet_end = var('message_quiet_hours_end') | int -%}

with messages as (
    select t.touchpoint_id, t.customer_id, t.channel, t.touch_type, t.campaign_id, t.occurred_at as sent_at
    from {{ ref('fct_touchpoint') }} as t
    where t.direction = 'outbound' and (
            {%- for channel, types in sends.items() %}
            (t.channel = '{{ channel }}' and {{ sql_in('t.touch_type', types) }}){{ " or" if not loop.last }}
            {%- endfor %}
        )
),

localized as (
    select
        m.*,
        z.time_zone,
        {{ utc_to_local('m.sent_at', 'z.time_zone') }} as sent_at_local,
        m.campaign_id is not null as is_marketing
    from messages as m
    left join {{ ref('int_customer_timezones') }} as z on m.customer_id = z.customer_id
),

sequenced as (
    select
        *,
        lag(channel) over (partition by customer_id order by sent_at, touchpoint_id) as previous_channel,
        lag(sent_at) over (partition by customer_id order by sent_at, touchpoint_id) as previous_sent_at
    from localized
)

select
    touchpoint_id,
    customer_id,
    channel,
    touch_type,
    campaign_id,
    is_marketing,
    sent_at,
    time_zone,
    sent_at_local,
    cast(sent_at_local as date) as sent_date_local,
    {%- if quiet_start > quiet_end %}
    (extract(hour from sent_at_local) >= {{ quiet_start }} or extract(hour from sent_at_local) < {{ quiet_end }})
    {%- else %}
    (extract(hour from sent_at_local) >= {{ quiet_start }} and extract(hour from sent_at_local) < {{ quiet_end }})
    {%- endif %} as is_quiet_hours,
    previous_channel,
    case when previous_channel is not null and previous_channel <> channel
            then {{ dbt.datediff('previous_sent_at', 'sent_at', 'second') }} / 60.0
    end as cross_channel_gap_minutes
from sequenced
