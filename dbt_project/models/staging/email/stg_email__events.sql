with source as (
    select * from {{ source('raw', 'email') }}
    where not _is_duplicate
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'sg_message_id') }} as message_id,
        {{ json_str('record', 'email') }} as email_raw,
        {{ normalize_email(json_str('record', 'email')) }} as email,
        {{ json_str('record', 'event') }} as event_type,
        {{ json_str('record', 'url') }} as url,
        {{ json_str('record', 'campaign_id') }} as campaign_id,
        {{ json_str('record', 'customer_id') }} as customer_id,
        {{ json_str('record', 'reason') }} as reason,
        {{ json_str('record', 'useragent') }} as user_agent,
        {{ json_str('record', 'ip') }} as ip,
        {{ from_unix_seconds(json_str('record', 'timestamp')) }} as event_at,
        {{ lineage_columns() }}
    from source
)

select *, cast(event_at as date) as event_date
from typed
