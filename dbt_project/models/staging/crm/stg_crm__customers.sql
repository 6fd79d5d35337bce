-- One row per CRM customer: the latest delivered row wins.
with source as (
    select * from {{ source('raw', 'crm_customers') }}
    where not _is_duplicate
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
),

latest as (
    select
        *,
        row_number() over (
            partition by customer_id order by delivery_date desc, source_file desc, source_line desc
        ) as row_rank
    from typed
)

select
    l.event_id, l.customer_id, l.email_raw, l.email, l.phone_raw, p.e164 as phone, l.first_name, l.last_name,
    l.birth_date, l.gender, l.loyalty_id, l.instagram_handle, l.created_at,
    l.created_at as event_at, cast(l.created_at as date) as event_date,
    l.source_file, l.source_line, l.delivery_date, l.loaded_at
from latest as l
{{ phone_lookup_join('p', 'l.phone_raw') }}
where l.row_rank = 1
