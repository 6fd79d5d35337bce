{#- The seeds' omnichannel claims, measured: customers who answered on one channel beside those who answered on two
    or more (int_customer_engagement_tiers), with their retention (share of buyers who bought again), open and click
    rates on the messages they were delivered (channels whose registry kpis name opens or clicks), conversion rate,
    engagement touches before their first purchase, and average order value. Customers who never answered and never
    bought are in neither group. -#}
{%- set kpi_channels = [] -%}
{%- for channel, kpis in channel_kpi_touches().items() if kpis.get('deliveries') and (kpis.get('opens') or kpis.get('clicks')) -%}
{%- do kpi_channels.append(channel) -%}
{%- endfor -%}

with customers as (
    select
        *,
        case when channels_engaged >= 2 then 'multi_channel' else 'single_channel' end as engagement_group
    from {{ ref('int_customer_engagement_tiers') }}
),

messages as (
    -- Per customer: messages delivered, and messages (one per channel and campaign) opened and clicked.
    select
        customer_id,
        sum(case when {{ is_kpi_touch('deliveries') }} then 1 else 0 end) as delivered,
        count(distinct case when {{ is_kpi_touch('opens') }} then channel || ':' || coalesce(campaign_id, '') end) as opened,
        count(distinct case when {{ is_kpi_touch('clicks') }} then channel || ':' || coalesce(campaign_id, '') end) as clicked
    from {{ ref('fct_touchpoint') }}
    where {{ sql_in('channel', kpi_channels) }}
    group by customer_id
),

first_journeys as (
    -- The engagement touches in the lookback window of each buyer's first purchase.
    select customer_id, touches
    from (
        select customer_id, touches, row_number() over (partition by customer_id order by converted_at, conversion_id) as n
        from {{ ref('fct_journey') }}
        where is_converted and customer_id is not null
    ) as ranked
    where n = 1
)

select
    c.engagement_group,
    count(*) as customers,
    sum(case when c.orders > 0 then 1 else 0 end) as buyers,
    cast(sum(case when c.orders >= 2 then 1 else 0 end) as double)
    / nullif(sum(case when c.orders > 0 then 1 else 0 end), 0) as retention_rate,
    cast(sum(coalesce(m.opened, 0)) as double) / nullif(sum(coalesce(m.delivered, 0)), 0) as open_rate,
    cast(sum(coalesce(m.clicked, 0)) as double) / nullif(sum(coalesce(m.delivered, 0)), 0) as click_rate,
    cast(sum(case when c.orders > 0 then 1 else 0 end) as double) / count(*) as conversion_rate,
    avg(f.touches) as touches_before_first_purchase,
    cast(sum(c.revenue) as double) / nullif(sum(c.orders), 0) as average_order_value
from customers as c
left join messages as m on c.customer_id = m.customer_id
left join first_journeys as f on c.customer_id = f.customer_id
group by c.engagement_group
