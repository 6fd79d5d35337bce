{{ staged_by_delivery_day('support') }}
with source as (
    select * from {{ source('raw', 'support') }}
    where not _is_duplicate{{ restaged_days_filter('support') }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'id') }} as ticket_id,
        {{ json_str('record', 'via.channel') }} as via_channel,
        {{ json_str('record', 'requester.email') }} as email_raw,
        {{ normalize_email(json_str('record', 'requester.email')) }} as email,
        {{ json_str('record', 'requester.phone') }} as phone_raw,
        {{ json_str('record', 'subject') }} as subject,
        {{ json_str('record', 'satisfaction_rating.score') }} as satisfaction,
        {{ json_str('record', 'status') }} as status,
        {{ iso8601_to_utc(json_str('record', 'created_at')) }} as event_at,
        {{ iso8601_to_utc(json_str('record', 'updated_at')) }} as updated_at,
        {{ lineage_columns() }}
    from source
)

select t.*, p.e164 as phone, cast(t.event_at as date) as event_date
from typed as t
{{ phone_lookup_join('p', 't.phone_raw') }}
