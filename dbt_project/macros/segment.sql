{#- Web and app speak the same Segment spec; the app adds its device. One definition serves both models. -#}
{% macro segment_events(source_table, with_device) %}
with source as (
    select * from {{ source('raw', source_table) }}
    where not _is_duplicate
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'type') }} as event_type,
        {{ json_str('record', 'event') }} as event_name,
        {{ json_str('record', 'name') }} as page_name,
        {{ json_str('record', 'anonymousId') }} as anonymous_id,
        nullif(trim({{ json_str('record', 'userId') }}), '') as user_id,
        {{ json_str('record', 'properties.order_id') }} as order_id,
        {{ safe_cast(json_str('record', 'properties.revenue'), 'decimal(18, 2)') }} as revenue,
        {{ json_str('record', 'properties.currency') }} as currency,
        {{ json_str('record', 'traits.email') }} as email_raw,
        {{ normalize_email(json_str('record', 'traits.email')) }} as email,
        {{ json_str('record', 'traits.phone') }} as phone_raw,
        {{ json_str('record', 'context.page.url') }} as page_url,
        {{ json_str('record', 'context.page.path') }} as page_path,
        {{ json_str('record', 'context.page.referrer') }} as referrer,
        {{ json_str('record', 'context.userAgent') }} as user_agent,
        {{ json_str('record', 'context.ip') }} as ip,
        {% if with_device -%}
        {{ json_str('record', 'context.device.id') }} as device_id,
        {{ json_str('record', 'context.device.advertisingId') }} as advertising_id,
        {{ json_str('record', 'context.device.type') }} as device_type,
        {{ json_str('record', 'context.os.name') }} as os_name,
        {%- endif %}
        {{ iso8601_to_utc(json_str('record', 'timestamp')) }} as event_at,
        {{ iso8601_to_utc(json_str('record', 'receivedAt')) }} as received_at,
        {{ lineage_columns() }}
    from source
)

select
    t.*,
    p.e164 as phone,
    {{ url_param('t.page_url', 'utm_source') }} as utm_source,
    {{ url_param('t.page_url', 'utm_medium') }} as utm_medium,
    {{ url_param('t.page_url', 'utm_campaign') }} as utm_campaign,
    {{ url_param('t.page_url', 'gclid') }} as gclid,
    {{ url_param('t.page_url', 'fbclid') }} as fbclid,
    coalesce(regexp_matches(lower(t.user_agent), 'bot|crawler|spider|headless'), false) as is_bot_user_agent,
    cast(t.event_at as date) as event_date
from typed as t
{{ phone_lookup_join('p', 't.phone_raw') }}
{% endmacro %}
