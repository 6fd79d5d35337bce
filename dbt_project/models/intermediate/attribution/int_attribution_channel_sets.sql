{#- Paths and conversions per observed set of channels, the input of the Shapley model. -#}
select
    channel_set,
    count(*) as paths,
    sum(case when is_converted then 1 else 0 end) as conversions
from {{ ref('fct_journey') }}
where touches > 0
group by channel_set
