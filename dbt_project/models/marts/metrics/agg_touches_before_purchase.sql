{#- The distribution of engagement touches before a purchase (in its lookback window, fct_journey.touches): per
    number of touches, how many purchases, their share, and the share with at most that many. -#}
with counts as (
    select touches, count(*) as conversions
    from {{ ref('fct_journey') }}
    where is_converted
    group by touches
)

select
    touches,
    conversions,
    cast(conversions as double) / sum(conversions) over () as share_of_conversions,
    cast(sum(conversions) over (order by touches rows between unbounded preceding and current row) as double)
    / sum(conversions) over () as cumulative_share
from counts
