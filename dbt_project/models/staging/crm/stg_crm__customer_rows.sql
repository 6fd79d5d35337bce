-- Every delivered CRM customer row (not only the latest per customer): what the CRM's daily count counts,
-- and the history of who held which email and phone.
with source as (
    select * from {{ source('raw', 'crm_customers') }}
    where not _is_duplicate
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'customer_id') }} as customer_id,
        {{ normalize_email(json_str('record', 'email')) }} as email,
        nullif(trim({{ json_str('record', 'phone') }}), '') as phone_raw,
        {{ lineage_columns() }}
    from source
)

select t.*, p.e164 as phone
from typed as t
{{ phone_lookup_join('p', 't.phone_raw') }}
