-- One row per order: its current (latest updated_at) version, with revenue net of cancellation and refunds.
with versions as (
    select * from {{ ref('stg_orders__order_versions') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by order_id order by updated_at desc, delivery_date desc, source_file desc, source_line desc
        ) as version_rank,
        count(*) over (partition by order_id) as versions
    from versions
)

select
    event_id, order_id, order_name, email_raw, email, phone_raw, phone, created_at, updated_at, cancelled_at,
    total_price, refunded_amount, currency, source_name, shop_customer_id, landing_site, gclid, fbclid,
    utm_source, versions,
    cancelled_at is not null as is_cancelled,
    case
        when cancelled_at is not null then cast(0 as decimal(18, 2))
        when refunded_amount >= total_price then cast(0 as decimal(18, 2))
        else total_price - refunded_amount
    end as net_revenue,
    event_at, event_date, source_file, source_line, delivery_date, loaded_at
from ranked
where version_rank = 1
