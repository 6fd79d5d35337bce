{#- Each customer's purchases, one row per calendar day (UTC): what the lifetime-value models count as one
    transaction, as in the CDNOW data they were first fitted on (two orders on one day are one purchase occasion).
    Cancelled orders are no purchase; refunded and returned ones count at their net revenue. Purchases that
    reached no customer are left out. -#}
select
    customer_id,
    cast(converted_at as date) as purchase_date,
    count(*) as orders,
    sum(revenue) as revenue,
    min(converted_at) as first_converted_at
from {{ ref('fct_conversion') }}
where customer_id is not null and not is_cancelled
group by customer_id, cast(converted_at as date)
