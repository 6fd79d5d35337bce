{#- Per UTC day, channel and campaign: what was sent and how people answered (the channel registry's
    touchpoints.kpis says which touch types each KPI counts), and the conversions and revenue each attribution model
    credits there (fct_attribution, on the day of the purchase). Touches are counted before stitching, so a send to
    someone not yet resolved to a customer still counts; bots are left out. -#}
{%- set kpis = kpi_names() -%}
{%- set models = attribution_models() -%}

with touches as (
    select u.record_id, u.event_date, u.channel, u.campaign_id, u.touch_type, r.customer_id
    from {{ ref('int_touchpoints_unioned') }} as u
    left join {{ ref('int_records_customers') }} as r on u.record_id = r.record_id
    where not u.is_bot
),

touch_kpis as (
    select
        event_date,
        channel,
        campaign_id,
        {%- for kpi in kpis %}
        cast(sum(case when {{ is_kpi_touch(kpi) }} then 1 else 0 end) as bigint) as {{ kpi }},
        {%- endfor %}
        -- A person opening twice is one unique open; an open not yet resolved to a customer counts on its own.
        count(distinct case when {{ is_kpi_touch('opens') }} then coalesce(customer_id, record_id) end) as unique_opens
    from touches
    group by event_date, channel, campaign_id
),

credits as (
    select
        cast(converted_at as date) as event_date,
        channel,
        campaign_id,
    {%- for model in models %}
    sum(case when model = '{{ model }}' then credit else 0 end) as conversions_{{ model }},
    sum(case when model = '{{ model }}' then attributed_revenue else 0 end) as revenue_{{ model }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ ref('fct_attribution') }}
    group by cast(converted_at as date), channel, campaign_id
),

keys as (
    select event_date, channel, campaign_id from touch_kpis
    union
    select event_date, channel, campaign_id from credits
)

select
    k.event_date,
    k.channel,
    k.campaign_id,
    {%- for kpi in kpis %}
    coalesce(t.{{ kpi }}, 0) as {{ kpi }},
    {%- endfor %}
    coalesce(t.unique_opens, 0) as unique_opens,
    -- Clicks per delivered message; NULL where nothing was delivered (ads, web).
    cast(coalesce(t.clicks, 0) as double) / nullif(t.deliveries, 0) as click_through_rate,
    cast(coalesce(t.unique_opens, 0) as double) / nullif(t.deliveries, 0) as unique_open_rate,
{%- for model in models %}
coalesce(c.conversions_{{ model }}, 0) as conversions_{{ model }},
coalesce(c.revenue_{{ model }}, 0) as revenue_{{ model }}{{ "," if not loop.last }}
{%- endfor %}
from keys as k
left join touch_kpis as t
    on k.event_date = t.event_date and k.channel = t.channel
    and k.campaign_id is not distinct from t.campaign_id
left join credits as c
    on k.event_date = c.event_date and k.channel = c.channel
    and k.campaign_id is not distinct from c.campaign_id
