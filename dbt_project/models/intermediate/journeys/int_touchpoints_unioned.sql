{#- Every contact between a person and the brand, from every channel's staged records, before stitching:
    one row per staged event, with the channel, what happened, who acted, and the campaign. Bots are flagged here
    and excluded (and counted) downstream. Purchases themselves are in fct_conversion; a store sale is also a
    touch, since the till is the only place a store visit is seen. -#}
{%- set null_string = 'cast(null as ' ~ dbt.type_string() ~ ')' -%}
{%- set segment_touch_type = "case when event_type = 'track' then " ~ snake_event_name('event_name')
                             ~ " else event_type end" -%}
{#- Per channel: (record prefix, staging model, touch_type, direction, campaign_id, device_type, traffic_channel,
    is_bot). The record prefix is the source name int_identity_occurrences uses in record_id. -#}
{%- set channels = [
    ('email', 'email', 'stg_email__events', 'event_type',
        "case when event_type in ('open', 'click', 'unsubscribe', 'group_unsubscribe', 'spamreport') "
        ~ "then 'inbound' else 'outbound' end",
        'campaign_id', null_string, null_string, 'false'),
    ('sms', 'sms', 'stg_sms__messages',
        "case when direction = 'inbound' then coalesce(consent_change, 'reply') else status end",
        'direction', 'campaign_id', null_string, null_string, 'false'),
    ('push', 'push', 'stg_push__events', 'event_type',
        "case when event_type = 'opened' then 'inbound' else 'outbound' end",
        'campaign_id', null_string, null_string, 'false'),
    ('web', 'web', 'stg_web__events', segment_touch_type, "'inbound'", 'utm_campaign',
        "case when " ~ regex_matches('user_agent', '(Mobile|Android|iPhone|iPad)') ~ " then 'mobile_web' else 'desktop' end",
        traffic_channel('utm_medium', 'gclid', 'fbclid'), 'coalesce(is_bot_user_agent, false)'),
    ('app', 'app', 'stg_app__events', segment_touch_type, "'inbound'", 'utm_campaign', 'device_type',
        traffic_channel('utm_medium', 'gclid', 'fbclid'), 'coalesce(is_bot_user_agent, false)'),
    ('ads', 'ads', 'stg_ads__clicks', "'click'", "'inbound'", 'campaign_id', null_string, null_string, 'false'),
    ('social', 'social', 'stg_social__engagements', 'action', "'inbound'", 'campaign_id', null_string, null_string,
        'false'),
    ('store', 'pos', 'stg_pos__transactions', 'transaction_type', "'inbound'", null_string, null_string, null_string,
        'false'),
    ('support', 'support', 'stg_support__tickets', "'ticket'", "'inbound'", null_string, null_string, null_string,
        'false'),
] -%}

{%- for channel, prefix, model, touch_type, direction, campaign_id, device_type, traffic, is_bot in channels %}
select
    '{{ prefix }}:' || event_id as record_id,
    event_at as occurred_at,
    event_date,
    '{{ channel }}' as channel,
    {{ touch_type }} as touch_type,
    {{ direction }} as direction,
    {{ campaign_id }} as campaign_id,
    {{ device_type }} as device_type,
    {{ traffic }} as traffic_channel,
    {{ is_bot }} as is_bot
from {{ ref(model) }}
{{ "union all" if not loop.last }}
{%- endfor %}
