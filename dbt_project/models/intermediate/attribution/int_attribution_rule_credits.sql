{#- Rule-based credits of every conversion's touches, summed per channel and campaign: first_touch, last_touch,
    linear, time_decay (a touch's weight halves every var('attribution_time_decay_half_life_days') before the
    conversion) and position_based (40/20/40: one touch takes all, two split 50/50, the middle share is split
    evenly). Each column sums to 1 per conversion. -#}
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

touch_credits as (
    select
        conversion_id,
        channel,
        campaign_id,
        case when touch_number = 1 then 1.0 else 0.0 end as first_touch,
        case when touch_number = n then 1.0 else 0.0 end as last_touch,
        1.0 / n as linear,
        decay_weight / sum(decay_weight) over (partition by conversion_id) as time_decay,
        case
            when n = 1 then 1.0
            when n = 2 then 0.5
            when touch_number = 1 or touch_number = n then 0.4
            else 0.2 / (n - 2)
        end as position_based
    from touches
),

campaign_credits as (
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
)

select * from campaign_credits
