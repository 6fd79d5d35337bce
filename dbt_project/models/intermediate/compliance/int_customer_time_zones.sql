{#- One row per customer with a local time zone for quiet hours. No source names a customer's zone (the CRM has
    none; a US phone's area code says where a number was issued, not where its holder lives): the zone of the
    store of most of their POS sales (latest sale breaks ties), else var('customer_default_time_zone'). -#}
with store_sales as (
    select r.customer_id, p.store_tz, count(*) as sales, max(p.event_at) as last_sale_at
    from {{ ref('stg_pos__transactions') }} as p
    inner join {{ ref('int_records_customers') }} as r on r.record_id = 'pos:' || p.event_id
    where r.customer_id is not null and p.store_tz is not null
    group by 1, 2
),

ranked as (
    select
        customer_id, store_tz,
        row_number() over (partition by customer_id order by sales desc, last_sale_at desc, store_tz asc) as store_rank
    from store_sales
),

customers as (
    select distinct customer_id from {{ ref('customer_identifier') }}
)

select
    c.customer_id,
    coalesce(r.store_tz, '{{ var("customer_default_time_zone") }}') as time_zone,
    case when r.store_tz is not null then 'pos_store' else 'default' end as time_zone_source
from customers as c
left join ranked as r on c.customer_id = r.customer_id and r.store_rank = 1
