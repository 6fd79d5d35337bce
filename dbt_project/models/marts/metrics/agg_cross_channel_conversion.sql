{#- Conversion by channel combination: per set of channels a journey touched (fct_journey.channel_set; '(none)' for
    a purchase with no engagement touch in its window), how many journeys and purchases, the conversion rate, the
    share of all purchases, and the touches before purchase. cross_channel_conversion_share, the same on every row,
    is the share of all purchases whose journey spans two or more channels. -#}
with journeys as (
    select
        coalesce(channel_set, '(none)') as channel_set,
        distinct_channels,
        is_converted,
        touches
    from {{ ref('fct_journey') }}
),

by_set as (
    select
        channel_set,
        max(distinct_channels) as distinct_channels,
        count(*) as journeys,
        sum(case when is_converted then 1 else 0 end) as conversions,
        avg(case when is_converted then touches end) as mean_touches_before_purchase,
        {{ median('case when is_converted then touches end') }} as median_touches_before_purchase
    from journeys
    group by channel_set
),

totals as (
    select
        sum(conversions) as all_conversions,
        sum(case when distinct_channels >= 2 then conversions else 0 end) as cross_channel_conversions
    from by_set
)

select
    s.channel_set,
    s.distinct_channels,
    s.distinct_channels >= 2 as is_cross_channel,
    s.journeys,
    s.conversions,
    cast(s.conversions as double) / s.journeys as conversion_rate,
    cast(s.conversions as double) / nullif(t.all_conversions, 0) as share_of_conversions,
    s.mean_touches_before_purchase,
    s.median_touches_before_purchase,
    cast(t.cross_channel_conversions as double) / nullif(t.all_conversions, 0) as cross_channel_conversion_share
from by_set as s
cross join totals as t
