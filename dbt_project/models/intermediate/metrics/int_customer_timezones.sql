{#- Every customer's time zone, for local-time metrics (send hour, quiet hours): the zone of the store where they
    bought most often (the till records its zone; ties go to the latest), else that of their primary phone's area
    code (seed phone_prefix_time_zones, from the phonenumbers library; area codes that span zones are not in it),
    else var customer_default_time_zone. time_zone_source says which. -#}
with store_sales as (
    select r.customer_id, p.store_tz, count(*) as sales, max(p.event_at) as last_sale_at
    from {{ ref('stg_pos__transactions') }} as p
    inner join {{ ref('int_records_customers') }} as r on r.record_id = 'pos:' || p.event_id
    where r.customer_id is not null and p.store_tz is not null and p.transaction_type = 'sale'
    group by r.customer_id, p.store_tz
),

store_zones as (
    select customer_id, store_tz
    from (
        select
            customer_id,
            store_tz,
            row_number() over (partition by customer_id order by sales desc, last_sale_at desc, store_tz asc) as zone_rank
        from store_sales
    ) as ranked
    where zone_rank = 1
),

phone_zones as (
    select c.customer_id, z.time_zone
    from {{ ref('dim_customer') }} as c
    inner join {{ ref('phone_prefix_time_zones') }} as z on substring(c.primary_phone, 1, 5) = z.phone_prefix
    where c.primary_phone like '+1%'
)

select
    c.customer_id,
    coalesce(s.store_tz, p.time_zone, '{{ var("customer_default_time_zone") }}') as time_zone,
    case
        when s.store_tz is not null then 'store'
        when p.time_zone is not null then 'phone'
        else 'default'
    end as time_zone_source
from {{ ref('dim_customer') }} as c
left join store_zones as s on c.customer_id = s.customer_id
left join phone_zones as p on c.customer_id = p.customer_id
