{#- Credit for every conversion, per channel and campaign, under seven models. credit sums to 1 per conversion and
    model; attributed_revenue is credit x revenue. A conversion with no engagement touch in its window is credited
    wholly to 'direct' under every model.
    Rule-based: first_touch, last_touch, linear, time_decay (half-life var attribution_time_decay_half_life_days,
    counted back from the conversion), position_based (40/20/40; one touch takes all, two touches split 50/50).
    Data-driven, exact: markov (the channels on the path share in proportion to their removal effects) and shapley
    (the channel set's exact Shapley shares). Under both, a channel's credit is split over its campaigns by touches. -#}
with campaign_credits as (
    select * from {{ ref('int_attribution_rule_credits') }}
),

channel_touches as (
    select
        *,
        1.0 * touches / sum(touches) over (partition by conversion_id, channel) as campaign_share
    from campaign_credits
),

markov_weights as (
    select
        c.conversion_id,
        c.channel,
        m.weight / sum(m.weight) over (partition by c.conversion_id) as markov
    from (select distinct conversion_id, channel from campaign_credits) as c
    inner join {{ ref('int_attribution_markov_effects') }} as m on c.channel = m.channel
),

shapley_shares as (
    select
        j.conversion_id,
        s.channel,
        s.share as shapley
    from {{ ref('fct_journey') }} as j
    inner join {{ ref('int_attribution_shapley_shares') }} as s on j.channel_set = s.channel_set
    where j.is_converted and j.touches > 0
),

credited as (
    select
        t.conversion_id,
        t.channel,
        t.campaign_id,
        t.first_touch,
        t.last_touch,
        t.linear,
        t.time_decay,
        t.position_based,
        m.markov * t.campaign_share as markov,
        s.shapley * t.campaign_share as shapley
    from channel_touches as t
    left join markov_weights as m on t.conversion_id = m.conversion_id and t.channel = m.channel
    left join shapley_shares as s on t.conversion_id = s.conversion_id and t.channel = s.channel
),

models as (
    {%- for model in ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov', 'shapley'] %}
    select conversion_id, '{{ model }}' as model, channel, campaign_id, {{ model }} as credit
    from credited
    {%- if model in ['first_touch', 'last_touch'] %}
    where {{ model }} > 0
    {%- endif %}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

direct as (
    {%- for model in ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov', 'shapley'] %}
    select conversion_id, '{{ model }}' as model, 'direct' as channel, cast(null as {{ dbt.type_string() }}) as campaign_id,
        1.0 as credit
    from {{ ref('fct_journey') }}
    where is_converted and touches = 0
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

all_credits as (
    select * from models
    union all
    select * from direct
)

select
    a.conversion_id,
    c.customer_id,
    c.converted_at,
    c.purchase_channel,
    a.model,
    a.channel,
    a.campaign_id,
    a.credit,
    a.credit * c.revenue as attributed_revenue
from all_credits as a
inner join {{ ref('fct_conversion') }} as c on a.conversion_id = c.conversion_id
