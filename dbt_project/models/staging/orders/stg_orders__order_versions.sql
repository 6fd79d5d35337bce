{{ staged_by_delivery_day('orders') }}
-- Every exported version of every order: Shopify exports an order again whenever it changes.
with source as (
    select * from {{ source('raw', 'orders') }}
    where not _is_duplicate{{ restaged_days_filter('orders') }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'id') }} as order_id,
        {{ json_str('record', 'name') }} as order_name,
        {{ json_str('record', 'email') }} as email_raw,
        {{ normalize_email(json_str('record', 'email')) }} as email,
        {{ json_str('record', 'phone') }} as phone_raw,
        {{ iso8601_to_utc(json_str('record', 'created_at')) }} as created_at,
        {{ iso8601_to_utc(json_str('record', 'updated_at')) }} as updated_at,
        {{ iso8601_to_utc(json_str('record', 'cancelled_at')) }} as cancelled_at,
        {{ safe_cast(json_str('record', 'total_price'), 'decimal(18, 2)') }} as total_price,
        {{ successful_refunds('record') }} as refunded_amount,
        {{ json_str('record', 'currency') }} as currency,
        {{ json_str('record', 'source_name') }} as source_name,
        {{ json_str('record', 'customer.id') }} as shop_customer_id,
        {{ json_str('record', 'landing_site') }} as landing_site,
        {{ lineage_columns() }}
    from source
)

select
    t.*,
    p.e164 as phone,
    {{ url_param('t.landing_site', 'gclid') }} as gclid,
    {{ url_param('t.landing_site', 'fbclid') }} as fbclid,
    {{ url_param('t.landing_site', 'utm_source') }} as utm_source,
    t.created_at as event_at,
    cast(t.created_at as date) as event_date
from typed as t
{{ phone_lookup_join('p', 't.phone_raw') }}
