{{ staged_by_delivery_day('pos') }}
with source as (
    select * from {{ source('raw', 'pos') }}
    where not _is_duplicate{{ restaged_days_filter('pos') }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'receipt_id') }} as receipt_id,
        {{ json_str('record', 'store_id') }} as store_id,
        {{ json_str('record', 'store_tz') }} as store_tz,
        {{ json_str('record', 'local_time') }} as local_time,
        {{ local_to_utc(json_str('record', 'local_time'), json_str('record', 'store_tz')) }} as event_at,
        nullif(trim({{ json_str('record', 'loyalty_id') }}), '') as loyalty_id,
        {{ json_str('record', 'email') }} as email_raw,
        {{ normalize_email(json_str('record', 'email')) }} as email,
        nullif(trim({{ json_str('record', 'phone') }}), '') as phone_raw,
        {{ json_str('record', 'type') }} as transaction_type,
        nullif(trim({{ json_str('record', 'original_receipt_id') }}), '') as original_receipt_id,
        {{ safe_cast(json_str('record', 'total_cents'), 'bigint') }} as total_cents,
        {{ json_str('record', 'currency') }} as currency,
        {{ lineage_columns() }}
    from source
)

select
    t.*,
    p.e164 as phone,
    -- total_cents is always positive; a return takes money back. Whole cents / 100 as a double is within 1e-15
    -- of the exact value, so the cast to decimal rounds back to exactly those cents.
    cast(
        case when t.transaction_type = 'return' then -t.total_cents else t.total_cents end / 100.0
        as decimal(18, 2)
    ) as amount,
    cast(t.event_at as date) as event_date
from typed as t
{{ phone_lookup_join('p', 't.phone_raw') }}
