{#- Every purchase once: shop orders (web and app) and in-store sales, with revenue net of cancellations, refunds
    and returns. A shop order and its Order Completed event are one purchase, keyed by the shop order id; an
    Order Completed event whose order never reached the shop export is still a purchase, at the event's revenue. -#}

with orders as (
    -- The current version of each shop order; its revenue is already net of cancellation and refunds.
    select
        order_id,
        'orders:' || event_id as record_id,
        created_at,
        total_price,
        net_revenue,
        is_cancelled,
        currency,
        case
            when source_name = 'pos' then 'store'
            when source_name in ('iphone', 'android') then 'app'
            -- web, and any other online sales channel (a draft order, a marketplace app), is the web shop.
            else 'web'
        end as purchase_channel
    from {{ ref('stg_orders__orders') }}
),

completed_events as (
    -- Order Completed, from the web and the app; the first report of each order id wins.
    select
        order_id,
        record_id,
        event_at,
        revenue,
        currency,
        purchase_channel,
        row_number() over (partition by order_id order by event_at, record_id) as report_rank
    from (
        select order_id, 'web:' || event_id as record_id, event_at, revenue, currency, 'web' as purchase_channel
        from {{ ref('stg_web__events') }}
        where event_name = 'Order Completed' and order_id is not null
        union all
        select order_id, 'app:' || event_id as record_id, event_at, revenue, currency, 'app' as purchase_channel
        from {{ ref('stg_app__events') }}
        where event_name = 'Order Completed' and order_id is not null
    ) as events
),

shop_purchases as (
    -- The order, when exported, is the truth on time, channel and money; the event fills in what never arrived.
    select
        'shop:' || coalesce(o.order_id, e.order_id) as natural_key,
        coalesce(o.order_id, e.order_id) as order_ref,
        coalesce(o.created_at, e.event_at) as converted_at,
        coalesce(o.purchase_channel, e.purchase_channel) as purchase_channel,
        coalesce(o.currency, e.currency) as currency,
        coalesce(o.total_price, e.revenue) as gross_revenue,
        case when o.order_id is not null then o.net_revenue else e.revenue end as revenue,
        coalesce(o.is_cancelled, false) as is_cancelled,
        o.record_id as order_record_id
    from orders as o
    full outer join (
        select * from completed_events
        where report_rank = 1
    ) as e
        on o.order_id = e.order_id
),

pos as (
    select
        event_id,
        receipt_id,
        original_receipt_id,
        transaction_type,
        event_at,
        amount,
        currency,
        'pos:' || event_id as record_id
    from {{ ref('stg_pos__transactions') }}
),

pos_returns as (
    -- A return names the sale it reverses; one whose sale is not in the data is no purchase and is left out.
    select original_receipt_id, -sum(amount) as returned_amount
    from pos
    where transaction_type = 'return' and original_receipt_id is not null
    group by original_receipt_id
),

store_purchases as (
    select
        'pos:' || s.receipt_id as natural_key,
        s.receipt_id as order_ref,
        s.event_at as converted_at,
        'store' as purchase_channel,
        s.currency,
        s.amount as gross_revenue,
        -- Returning more than was bought takes the sale to nothing, not below (as a refunded order).
        case when coalesce(r.returned_amount, 0) >= s.amount then cast(0 as decimal(18, 2))
            else s.amount - coalesce(r.returned_amount, 0)
        end as revenue,
        false as is_cancelled,
        s.record_id
    from pos as s
    left join pos_returns as r on s.receipt_id = r.original_receipt_id
    where s.transaction_type = 'sale'
),

purchases as (
    select natural_key, order_ref, converted_at, purchase_channel, currency, gross_revenue, revenue, is_cancelled
    from shop_purchases
    union all
    select natural_key, order_ref, converted_at, purchase_channel, currency, gross_revenue, revenue, is_cancelled
    from store_purchases
),

purchase_records as (
    -- Every record the purchase was seen in: the order or sale first, then its events, then returns.
    select natural_key, order_record_id as record_id, 1 as record_order from shop_purchases
    where order_record_id is not null
    union all
    select 'shop:' || order_id, record_id, 2 from completed_events
    union all
    select natural_key, record_id, 1 from store_purchases
    union all
    select 'pos:' || original_receipt_id, record_id, 3 from pos
    where transaction_type = 'return' and original_receipt_id is not null
),

seen_in as (
    select natural_key, {{ dbt.listagg('record_id', "','", 'order by record_order, record_id') }} as source_records
    from purchase_records
    group by natural_key
),

purchase_customers as (
    -- The customer of the purchase's most trusted match: non-shared before shared, then by trust, then the
    -- order or sale before the event and returns.
    select natural_key, customer_id
    from (
        select
            p.natural_key,
            rc.customer_id,
            row_number() over (
                partition by p.natural_key
                order by rc.matched_is_shared, rc.matched_priority, p.record_order, p.record_id
            ) as customer_rank
        from purchase_records as p
        inner join {{ ref('int_records_customers') }} as rc
            on p.record_id = rc.record_id
        where rc.customer_id is not null
    ) as ranked
    where customer_rank = 1
)

select
    {{ dbt.hash('p.natural_key') }} as conversion_id,
    c.customer_id,
    p.converted_at,
    cast(p.revenue as decimal(18, 2)) as revenue,
    p.currency,
    p.purchase_channel,
    p.order_ref,
    cast(p.gross_revenue as decimal(18, 2)) as gross_revenue,
    cast(p.gross_revenue - p.revenue as decimal(18, 2)) as refunded_revenue,
    p.is_cancelled,
    r.source_records
from purchases as p
left join purchase_customers as c on p.natural_key = c.natural_key
left join seen_in as r on p.natural_key = r.natural_key
