{{ staged_by_delivery_day('crm_consents') }}
with source as (
    select * from {{ source('raw', 'crm_consents') }}
    where not _is_duplicate{{ restaged_days_filter('crm_consents') }}
),

typed as (
    select
        _event_id as event_id,
        nullif(trim({{ json_str('record', 'customer_id') }}), '') as customer_id,
        {{ normalize_email(json_str('record', 'email')) }} as email,
        nullif(trim({{ json_str('record', 'phone') }}), '') as phone_raw,
        {{ json_str('record', 'channel') }} as channel,
        {{ json_str('record', 'status') }} as consent_status,
        {{ json_str('record', 'source') }} as consent_source,
        {{ iso8601_to_utc(json_str('record', 'changed_at')) }} as event_at,
        {{ lineage_columns() }}
    from source
)

select t.*, p.e164 as phone, cast(t.event_at as date) as event_date
from typed as t
{{ phone_lookup_join('p', 't.phone_raw') }}
