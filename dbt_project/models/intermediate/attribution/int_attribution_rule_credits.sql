{#- Rule-based credits of every conversion's touches, summed per channel and campaign: first_touch, last_touch,
    linear, time_decay (a touch's weight halves every var('attribution_time_decay_half_life_days') before the
    conversion) and position_based (40/20/40: one touch takes all, two split 50/50, the middle share is split
    evenly). Each column sums to 1 per conversion. Totals per conversion come from an aggregate and a join, not a
    window: at tens of millions of touches a hash beats a sort. -#}
{%- set half_life_seconds = (var('attribution_time_decay_half_life_days') | float) * 86400 -%}

with touches as (
    select
        conversion_id,
        channel,
        campaign_id,
        touch_number,
        journey_touches as n,
        power(2.0, -1.0 * {{ dbt.datediff('occurred_at', 'converted_at', 'second') }} / {{ half_life_seconds }})
            as decay_weight
    from {{ ref('int_journey_touches') }}
    where is_converted
),

decay_totals as (
    select conversion_id, sum(decay_weight) as total_decay_weight
    from touches
    group by conversion_id
),

touch_credits as (
    select
        t.conversion_id,
        t.channel,
        t.campaign_id,
        case when t.touch_number = 1 then 1.0 else 0.0 end as first_touch,
        case when t.touch_number = t.n then 1.0 else 0.0 end as last_touch,
        1.0 / t.n as linear,
        t.decay_weight / d.total_decay_weight as time_decay,
        case
            when t.n = 1 then 1.0
            when t.n = 2 then 0.5
            when t.touch_number = 1 or t.touch_number = t.n then 0.4
            else 0.2 / (t.n - 2)
        end as position_based
    from touches as t
    inner join decay_totals as d on t.conversion_id = d.conversion_id
)

select
    conversion_id,
    channel,
    campaign_id,
    count(*) as touches,
    sum(first_touch) as first_touch,
    sum(last_touch) as last_touch,
    sum(linear) as linear,
    sum(time_decay) as time_decay,
    sum(position_based) as position_based
from touch_credits
group by conversion_id, channel, campaign_id
