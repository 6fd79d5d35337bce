{#- Outbound messages per customer, local day and channel: marketing messages (what the caps count), transactional
    ones apart (never capped), those in quiet hours, and how well channels were coordinated: gaps to the previous
    message when it was on another channel, and how many came within var('message_coordination_window_minutes') of
    one (two channels hitting the customer within the window). -#}
{%- set window = var('message_coordination_window_minutes') | int -%}

select
    customer_id,
    sent_date_local as message_date,
    channel,
    count(*) filter (where is_marketing) as marketing_messages,
    count(*) filter (where not is_marketing) as transactional_messages,
    count(*) filter (where is_marketing and is_quiet_hours) as quiet_hour_messages,
    count(cross_channel_gap_minutes) as cross_channel_gaps,
    min(cross_channel_gap_minutes) as min_cross_channel_gap_minutes,
    avg(cross_channel_gap_minutes) as avg_cross_channel_gap_minutes,
    count(*) filter (where cross_channel_gap_minutes <= {{ window }}) as cross_channel_hits_within_window
from {{ ref('int_messages_sent') }}
group by 1, 2, 3
