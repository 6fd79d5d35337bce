{#- Research online, purchase offline (ROPO) and the reverse: of the store purchases, how many the buyer preceded
    with a web or app touch (the registry's session channels) within var ropo_window_days; of the web and app
    purchases, how many the buyer preceded with a store visit (a store touch: the till is the only place a visit is
    seen) in the same window. Purchases without a known customer cannot be traced and are left out. -#}
{%- set window_seconds = var('ropo_window_days') | int * 86400 -%}
{%- set online = session_channels() -%}

with purchases as (
    select
        conversion_id,
        customer_id,
        converted_at,
        case when purchase_channel = 'store' then 'research_online_purchase_offline'
            else 'research_offline_purchase_online'
        end as direction
    from {{ ref('fct_conversion') }}
    where customer_id is not null and not is_cancelled
),

research as (
    select customer_id, occurred_at, {{ sql_in('channel', online) }} as is_online
    from {{ ref('fct_touchpoint') }}
    where {{ sql_in('channel', online) }} or channel = 'store'
),

researched as (
    select distinct p.conversion_id
    from purchases as p
    inner join research as r
        on p.customer_id = r.customer_id
        and p.converted_at > r.occurred_at
        and {{ dbt.datediff('r.occurred_at', 'p.converted_at', 'second') }} <= {{ window_seconds }}
        -- Online research for a store purchase; a store visit before an online one.
        and r.is_online = (p.direction = 'research_online_purchase_offline')
)

select
    p.direction,
    {{ var('ropo_window_days') | int }} as window_days,
    count(*) as purchases,
    count(r.conversion_id) as researched_purchases,
    cast(count(r.conversion_id) as double) / count(*) as researched_share
from purchases as p
left join researched as r on p.conversion_id = r.conversion_id
group by p.direction
