{#- Credit for every conversion, per channel and campaign, under seven models. credit sums to 1 per conversion and
    model; attributed_revenue is credit x revenue. A conversion with no engagement touch in its window is credited
    wholly to 'direct' under every model.
    Rule-based (int_attribution_rule_credits): first_touch, last_touch, linear, time_decay, position_based.
    Data-driven, exact: markov (the channels on the path share in proportion to their removal effects) and shapley
    (the channel set's exact Shapley shares). Under both, a channel's credit is split over its campaigns by touches. -#}
{%- set models = ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov', 'shapley'] -%}

with campaign_credits as (
    select * from {{ ref('int_attribution_rule_credits') }}
),

channel_touches as (
    select conversion_id, channel, sum(touches) as channel_touches
    from campaign_credits
    group by conversion_id, channel
),

markov_channels as (
    select t.conversion_id, t.channel, m.weight
    from channel_touches as t
    inner join {{ ref('int_attribution_markov_effects') }} as m on t.channel = m.channel
),

markov_totals as (
    select conversion_id, sum(weight) as total_weight
    from markov_channels
    group by conversion_id
),

journeys as (
    select conversion_id, customer_id, converted_at, purchase_channel, revenue, channel_set, touches
    from {{ ref('fct_journey') }}
    where is_converted
),

credited as (
    select
        c.conversion_id,
        j.customer_id,
        j.converted_at,
        j.purchase_channel,
        j.revenue,
        c.channel,
        c.campaign_id,
        c.first_touch,
        c.last_touch,
        c.linear,
        c.time_decay,
        c.position_based,
        m.weight / mt.total_weight * c.touches / t.channel_touches as markov,
        s.share * c.touches / t.channel_touches as shapley
    from campaign_credits as c
    inner join channel_touches as t on c.conversion_id = t.conversion_id and c.channel = t.channel
    inner join markov_channels as m on c.conversion_id = m.conversion_id and c.channel = m.channel
    inner join markov_totals as mt on c.conversion_id = mt.conversion_id
    inner join journeys as j on c.conversion_id = j.conversion_id
    inner join {{ ref('int_attribution_shapley_shares') }} as s
        on j.channel_set = s.channel_set and c.channel = s.channel
),

all_credits as (
    {%- for model in models %}
    select
        conversion_id, customer_id, converted_at, purchase_channel, revenue, '{{ model }}' as model, channel,
        campaign_id, {{ model }} as credit
    from credited
    {%- if model in ['first_touch', 'last_touch'] %}
    where {{ model }} > 0
    {%- endif %}
    union all
    {%- endfor %}
    {#- A conversion with no touch in its window: all credit to direct, under every model. #}
    select
        j.conversion_id, j.customer_id, j.converted_at, j.purchase_channel, j.revenue, m.model,
        'direct' as channel, cast(null as {{ dbt.type_string() }}) as campaign_id, 1.0 as credit
    from journeys as j
    cross join (
        {%- for model in models %}
        select '{{ model }}' as model{{ " union all" if not loop.last }}
        {%- endfor %}
    ) as m
    where j.touches = 0
)

select
    conversion_id,
    customer_id,
    converted_at,
    purchase_channel,
    model,
    channel,
    campaign_id,
    credit,
    credit * revenue as attributed_revenue
from all_credits
