{#- Every contact between a person and the brand, from every channel's staged records, before stitching:
    one row per staged event, with the channel, what happened, who acted, and the campaign. Bots are flagged here
    and excluded (and counted) downstream. Purchases themselves are in fct_conversion; a store sale is also a
    touch, since the till is the only place a store visit is seen. One select per entry of the channel registry
    (var channels) with `touchpoints`; record_id is `<entry>:<event_id>`, as in int_identity_occurrences. -#}
{%- set null_string = 'cast(null as ' ~ dbt.type_string() ~ ')' -%}

{%- for source, entry in channel_streams('touchpoints') %}
{%- set touch = entry.touchpoints %}
select
    '{{ source }}:' || event_id as record_id,
    {{ channel_record_sql(entry, 'occurred_at') }} as occurred_at,
    {{ channel_record_sql(entry, 'event_date') }} as event_date,
    '{{ entry.channel }}' as channel,
    {{ channel_sql(touch.touch_type) }} as touch_type,
    {{ channel_sql(touch.direction) }} as direction,
    {{ channel_sql(touch.get('campaign_id'), null_string) }} as campaign_id,
    {{ channel_sql(touch.get('device_type'), null_string) }} as device_type,
    {{ channel_sql(touch.get('traffic_channel'), null_string) }} as traffic_channel,
    {{ 'coalesce(' ~ channel_sql(entry.is_bot) ~ ', false)' if entry.get('is_bot') is not none else 'false' }} as is_bot
from {{ ref(entry.model) }}
{{ "union all" if not loop.last }}
{%- endfor %}
