{{ staged_by_delivery_day('push') }}
with source as (
    select * from {{ source('raw', 'push') }}
    where not _is_duplicate{{ restaged_days_filter('push') }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'notification_id') }} as notification_id,
        {{ json_str('record', 'campaign_id') }} as campaign_id,
        {{ json_str('record', 'player_id') }} as player_id,
        nullif(trim({{ json_str('record', 'external_user_id') }}), '') as external_user_id,
        {{ json_str('record', 'event') }} as event_type,
        {{ iso8601_to_utc(json_str('record', 'event_time')) }} as event_at,
        {{ lineage_columns() }}
    from source
)

select *, cast(event_at as date) as event_date
from typed
