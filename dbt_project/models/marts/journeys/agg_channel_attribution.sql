{#- Attributed conversions and revenue per model, channel and conversion day, for BI. -#}
select
    model,
    channel,
    cast(converted_at as date) as conversion_date,
    sum(credit) as attributed_conversions,
    sum(attributed_revenue) as attributed_revenue,
    count(distinct conversion_id) as conversions_touched
from {{ ref('fct_attribution') }}
group by model, channel, cast(converted_at as date)
