{#- One row per customer: how consistently they engage (share of active weeks since they were first seen, channel
    entropy of their inbound touches) and their preferred send hour, local time (int_customer_timezones), overall
    and per sending channel (the registry channels with a `sends` KPI).
    Hour evidence: opens, clicks and replies (registry kpis) and web and app session starts, each counting 1 at its
    local hour and 0.5 at the hours either side (so 18:59 and 19:01 agree). The overall hour is the mode of a
    Dirichlet posterior over 24 hours: the customer's evidence plus var send_hour_prior_events pseudo-events spread
    as their segment's distribution (segment = engagement tier), itself the segment's evidence plus
    var send_hour_segment_prior_events spread as the population's (add-one smoothed), each customer weighing one event in both. A channel's hour is the mode
    of that channel's evidence plus var send_hour_channel_prior_events spread as the customer's overall posterior;
    with no evidence it is the overall hour. Only hours with evidence, and the prior's mode, can win, so the mode is
    found without a 24-hour grid per customer. -#}
{%- set alpha = var('send_hour_prior_events') | float -%}
{%- set beta = var('send_hour_segment_prior_events') | float -%}
{%- set gamma = var('send_hour_channel_prior_events') | float -%}
{%- set send_channels = [] -%}
{%- for channel, kpis in channel_kpi_touches().items() if kpis.get('sends') -%}
{%- do send_channels.append(channel) -%}
{%- endfor -%}

with customers as (
    select c.customer_id, z.time_zone, z.time_zone_source, coalesce(t.engagement_tier, '0') as segment
    from {{ ref('dim_customer') }} as c
    inner join {{ ref('int_customer_timezones') }} as z on c.customer_id = z.customer_id
    left join {{ ref('int_customer_engagement_tiers') }} as t on c.customer_id = t.customer_id
),

inbound as (
    select
        t.customer_id, t.channel, t.occurred_at, t.touch_type, t.is_session_start,
        {{ utc_to_local('t.occurred_at', 'c.time_zone') }} as local_at
    from {{ ref('fct_touchpoint') }} as t
    inner join customers as c on t.customer_id = c.customer_id
    where t.direction = 'inbound'
),

data_end as (
    select max(occurred_at) as last_at from {{ ref('fct_touchpoint') }}
),

consistency as (
    select
        i.customer_id,
        count(*) as inbound_touches,
        count(distinct cast(i.occurred_at as date)) as active_days,
        count(distinct {{ dbt.date_trunc('week', 'i.occurred_at') }}) as active_weeks,
        cast(floor({{ dbt.datediff(dbt.date_trunc('week', 'min(i.occurred_at)'), dbt.date_trunc('week', 'max(e.last_at)'), 'day') }} / 7) as integer) + 1
            as weeks_observed
    from inbound as i
    cross join data_end as e
    group by i.customer_id
),

channel_counts as (
    select customer_id, channel, count(*) as touches
    from inbound
    group by customer_id, channel
),

entropy as (
    -- Shannon entropy in bits of the customer's inbound touches over channels: 0 for one channel.
    select customer_id, count(*) as channels, (0.0 - sum(p * ln(p))) / ln(2) as channel_entropy  -- 0.0 - x: one channel is 0, not -0
    from (
        select customer_id, channel, cast(touches as double) / sum(touches) over (partition by customer_id) as p
        from channel_counts
    ) as shares
    group by customer_id
),

signals as (
    select customer_id, channel, cast(extract(hour from local_at) as integer) as local_hour
    from inbound
    where is_session_start or {{ is_kpi_touch('opens') }} or {{ is_kpi_touch('clicks') }} or {{ is_kpi_touch('replies') }}
),

hour_evidence as (
    -- Each signal: 1 at its hour, 0.5 at each neighbour (circular).
    select
        signals.customer_id, signals.channel, (signals.local_hour + kernel.shift + 24) % 24 as hour,
        sum(kernel.weight) as evidence
    from signals
    cross join (
        select -1 as shift, 0.5 as weight
        union all
        select 0, 1.0
        union all
        select 1, 0.5
    ) as kernel
    group by signals.customer_id, signals.channel, (signals.local_hour + kernel.shift + 24) % 24
),

customer_hours as (
    select customer_id, hour, sum(evidence) as evidence
    from hour_evidence
    group by customer_id, hour
),


all_hours as (
    -- 0..23 without a series generator: the 24 hours as a cross join of digits.
    select tens.d * 10 + ones.d as hour
    from (
        select 0 as d
        union all
        select 1
        union all
        select 2
    ) as tens
    cross join (
        select 0 as d
        union all
        select 1
        union all
        select 2
        union all
        select 3
        union all
        select 4
        union all
        select 5
        union all
        select 6
        union all
        select 7
        union all
        select 8
        union all
        select 9
    ) as ones
    where tens.d * 10 + ones.d < 24
),

customer_shares as (
    -- Each customer's evidence as shares of their own, so a segment's and the population's distributions weigh
    -- people equally, not the busiest most.
    select customer_id, hour, evidence / sum(evidence) over (partition by customer_id) as share
    from customer_hours
),

population as (
    select a.hour, (coalesce(sum(h.share), 0) + 1) / (sum(sum(h.share)) over () + 24) as p_population
    from all_hours as a
    left join customer_shares as h on a.hour = h.hour
    group by a.hour
),

segment_hours as (
    select s.segment, p.hour, coalesce(e.evidence, 0) as evidence, p.p_population
    from (select distinct segment from customers) as s
    cross join population as p
    left join (
        select c.segment, h.hour, sum(h.share) as evidence
        from customer_shares as h
        inner join customers as c on h.customer_id = c.customer_id
        group by c.segment, h.hour
    ) as e on s.segment = e.segment and p.hour = e.hour
),

segments as (
    select
        segment,
        hour,
        (evidence + {{ beta }} * p_population) / (sum(evidence) over (partition by segment) + {{ beta }}) as p_segment
    from segment_hours
),

segment_modes as (
    select segment, hour as segment_hour, p_segment
    from (select *, row_number() over (partition by segment order by p_segment desc, hour asc) as n from segments) as r
    where n = 1
),

customer_totals as (
    select customer_id, sum(evidence) as total_evidence
    from customer_hours
    group by customer_id
),

overall_candidates as (
    -- The hours with evidence, and the segment's mode: the only hours the posterior's mode can be.
    select c.customer_id, h.hour, h.evidence
    from customers as c
    inner join customer_hours as h on c.customer_id = h.customer_id
    union all
    select c.customer_id, m.segment_hour, 0.0
    from customers as c
    inner join segment_modes as m on c.segment = m.segment
),

overall_posterior as (
    select
        o.customer_id,
        o.hour,
        (sum(o.evidence) + {{ alpha }} * max(s.p_segment)) / (coalesce(max(t.total_evidence), 0) + {{ alpha }}) as p_hour
    from overall_candidates as o
    inner join customers as c on o.customer_id = c.customer_id
    inner join segments as s on c.segment = s.segment and o.hour = s.hour
    left join customer_totals as t on o.customer_id = t.customer_id
    group by o.customer_id, o.hour
),

overall as (
    select customer_id, hour as preferred_send_hour, p_hour as preferred_send_hour_probability
    from (
        select *, row_number() over (partition by customer_id order by p_hour desc, hour asc) as n
        from overall_posterior
    ) as r
    where n = 1
)
{%- for channel in send_channels %},

{{ channel }}_hours as (
    -- The customer's {{ channel }} evidence, shrunk towards their overall posterior.
    select customer_id, hour, score
    from (
        select
            customer_id,
            hour,
            score,
            row_number() over (partition by customer_id order by score desc, hour asc) as n
        from (
            select c.customer_id, c.hour, sum(c.evidence) + {{ gamma }} * max(coalesce(p.p_hour, 0)) as score
            from (
                select customer_id, hour, evidence from hour_evidence
                where channel = '{{ channel }}'
                union all
                select customer_id, preferred_send_hour, 0.0 from overall
            ) as c
            left join overall_posterior as p on c.customer_id = p.customer_id and c.hour = p.hour
            group by c.customer_id, c.hour
        ) as scored
    ) as ranked
    where n = 1
)
{%- endfor %}

select
    c.customer_id,
    c.time_zone,
    c.time_zone_source,
    c.segment as engagement_tier,
    coalesce(k.inbound_touches, 0) as inbound_touches,
    coalesce(k.active_days, 0) as active_days,
    coalesce(k.active_weeks, 0) as active_weeks,
    k.weeks_observed,
    cast(k.active_weeks as double) / k.weeks_observed as active_week_share,
    coalesce(e.channels, 0) as channels_engaged,
    e.channel_entropy,
    coalesce(t.total_evidence, 0) / 2 as send_hour_signals,
    o.preferred_send_hour,
    o.preferred_send_hour_probability,
    case when t.total_evidence is null then 'segment' else 'customer' end as preferred_send_hour_source
    {%- for channel in send_channels %},
    {{ channel }}_hours.hour as preferred_send_hour_{{ channel }}
    {%- endfor %}
from customers as c
left join consistency as k on c.customer_id = k.customer_id
left join entropy as e on c.customer_id = e.customer_id
left join customer_totals as t on c.customer_id = t.customer_id
left join overall as o on c.customer_id = o.customer_id
{%- for channel in send_channels %}
left join {{ channel }}_hours on c.customer_id = {{ channel }}_hours.customer_id
{%- endfor %}
