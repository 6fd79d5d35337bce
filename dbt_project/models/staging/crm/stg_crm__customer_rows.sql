{{ staged_by_delivery_day('crm_customers') }}
-- Every delivered CRM customer row (not only the latest per customer): what the CRM's daily count counts,
-- and the history of who held which email and phone.
with source as (
    select * from {{ source('raw', 'crm_customers') }}
    where not _is_duplicate{{ restaged_days_filter('crm_customers') }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'customer_id') }} as customer_id,
        {{ json_str('record', 'email') }} as email_raw,
        {{ normalize_email(json_str('record', 'email')) }} as email,
        nullif(trim({{ json_str('record', 'phone') }}), '') as phone_raw,
        nullif(trim({{ json_str('record', 'first_name') }}), '') as first_name,
        nullif(trim({{ json_str('record', 'last_name') }}), '') as last_name,
        {{ safe_cast(json_str('record', 'birth_date'), 'date') }} as birth_date,
        nullif(trim({{ json_str('record', 'gender') }}), '') as gender,
        nullif(trim({{ json_str('record', 'loyalty_id') }}), '') as loyalty_id,
        {{ normalize_handle(json_str('record', 'instagram_handle')) }} as instagram_handle,
        {{ iso8601_to_utc(json_str('record', 'created_at')) }} as created_at,
        {{ lineage_columns() }}
    from source
)

select t.*, p.e164 as phone
from typed as t
{{ phone_lookup_join('p', 't.phone_raw') }}
