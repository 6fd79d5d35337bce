{{ staged_by_delivery_day('email') }}
{%- set paths = ['sg_message_id', 'email', 'event', 'url', 'campaign_id', 'customer_id', 'reason', 'useragent', 'ip',
                  'timestamp'] -%}
with source as (
    select *, {{ json_fields('record', paths) }} as fields
    from {{ source('raw', 'email') }}
    where not _is_duplicate{{ restaged_days_filter('email') }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_field('fields', paths, 'sg_message_id') }} as message_id,
        {{ json_field('fields', paths, 'email') }} as email_raw,
        {{ normalize_email(json_field('fields', paths, 'email')) }} as email,
        {{ json_field('fields', paths, 'event') }} as event_type,
        {{ json_field('fields', paths, 'url') }} as url,
        {{ json_field('fields', paths, 'campaign_id') }} as campaign_id,
        {{ json_field('fields', paths, 'customer_id') }} as customer_id,
        {{ json_field('fields', paths, 'reason') }} as reason,
        {{ json_field('fields', paths, 'useragent') }} as user_agent,
        {{ json_field('fields', paths, 'ip') }} as ip,
        {{ from_unix_seconds(json_field('fields', paths, 'timestamp')) }} as event_at,
        {{ lineage_columns() }}
    from source
)

select *, cast(event_at as date) as event_date
from typed
