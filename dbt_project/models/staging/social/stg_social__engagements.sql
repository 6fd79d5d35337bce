{{ staged_by_delivery_day('social') }}
with source as (
    select * from {{ source('raw', 'social') }}
    where not _is_duplicate{{ restaged_days_filter('social') }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'platform') }} as platform,
        {{ normalize_handle(json_str('record', 'handle')) }} as handle,
        {{ json_str('record', 'action') }} as action,
        {{ json_str('record', 'post_id') }} as post_id,
        {{ json_str('record', 'campaign_id') }} as campaign_id,
        {{ normalize_email(lead_field('record', 'email')) }} as lead_email,
        {{ lead_field('record', 'phone_number') }} as lead_phone_raw,
        {{ iso8601_to_utc(json_str('record', 'created_time')) }} as event_at,
        {{ lineage_columns() }}
    from source
)

select t.*, p.e164 as lead_phone, cast(t.event_at as date) as event_date
from typed as t
{{ phone_lookup_join('p', 't.lead_phone_raw') }}
