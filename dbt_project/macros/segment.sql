{#- Web and app speak the same Segment spec; the app adds its device. One definition serves both models. -#}
{% macro segment_events(source_table, with_device) %}
{%- set paths = ['type', 'event', 'name', 'anonymousId', 'userId', 'properties.order_id', 'properties.revenue',
                  'properties.currency', 'traits.email', 'traits.phone', 'context.page.url', 'context.page.path',
                  'context.page.referrer', 'context.userAgent', 'context.ip', 'timestamp', 'receivedAt'] -%}
{%- if with_device -%}
{%- set paths = paths + ['context.device.id', 'context.device.advertisingId', 'context.device.type', 'context.os.name'] -%}
{%- endif -%}
with source as (
    select *, {{ json_fields('record', paths) }} as fields
    from {{ source('raw', source_table) }}
    where not _is_duplicate{{ restaged_days_filter(source_table) }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_field('fields', paths, 'type') }} as event_type,
        {{ json_field('fields', paths, 'event') }} as event_name,
        {{ json_field('fields', paths, 'name') }} as page_name,
        {{ json_field('fields', paths, 'anonymousId') }} as anonymous_id,
        nullif(trim({{ json_field('fields', paths, 'userId') }}), '') as user_id,
        {{ json_field('fields', paths, 'properties.order_id') }} as order_id,
        {{ safe_cast(json_field('fields', paths, 'properties.revenue'), 'decimal(18, 2)') }} as revenue,
        {{ json_field('fields', paths, 'properties.currency') }} as currency,
        {{ json_field('fields', paths, 'traits.email') }} as email_raw,
        {{ normalize_email(json_field('fields', paths, 'traits.email')) }} as email,
        {{ json_field('fields', paths, 'traits.phone') }} as phone_raw,
        {{ json_field('fields', paths, 'context.page.url') }} as page_url,
        {{ json_field('fields', paths, 'context.page.path') }} as page_path,
        {{ json_field('fields', paths, 'context.page.referrer') }} as referrer,
        {{ json_field('fields', paths, 'context.userAgent') }} as user_agent,
        {{ json_field('fields', paths, 'context.ip') }} as ip,
        {% if with_device -%}
        {{ json_field('fields', paths, 'context.device.id') }} as device_id,
        {{ json_field('fields', paths, 'context.device.advertisingId') }} as advertising_id,
        {{ json_field('fields', paths, 'context.device.type') }} as device_type,
        {{ json_field('fields', paths, 'context.os.name') }} as os_name,
        {%- endif %}
        {{ iso8601_to_utc(json_field('fields', paths, 'timestamp')) }} as event_at,
        {{ iso8601_to_utc(json_field('fields', paths, 'receivedAt')) }} as received_at,
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
