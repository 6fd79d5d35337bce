{#- One row per customer who answered on a channel or bought: the channels they answered on (an inbound touch of
    fct_touchpoint: an email open or click, a text back, a push opened, a web or app event, an ad click, a social
    engagement, a store sale, a ticket; or a purchase's channel), their engagement tier, and their purchases (not
    counting cancelled orders). Shared by the retention and omnichannel marts. -#}
with answered as (
    select customer_id, channel
    from {{ ref('fct_touchpoint') }}
    where direction = 'inbound'
    union
    select customer_id, purchase_channel as channel
    from {{ ref('fct_conversion') }}
    where customer_id is not null and not is_cancelled
),

channels as (
    select customer_id, count(distinct channel) as channels_engaged
    from answered
    group by customer_id
),

purchases as (
    select
        customer_id,
        min(converted_at) as first_purchase_at,
        count(*) as orders,
        sum(revenue) as revenue
    from {{ ref('fct_conversion') }}
    where customer_id is not null and not is_cancelled
    group by customer_id
)

select
    c.customer_id,
    c.channels_engaged,
    case when c.channels_engaged >= 3 then '3+' else cast(c.channels_engaged as {{ dbt.type_string() }}) end
        as engagement_tier,
    p.first_purchase_at,
    coalesce(p.orders, 0) as orders,
    coalesce(p.revenue, 0) as revenue
from channels as c
left join purchases as p on c.customer_id = p.customer_id
