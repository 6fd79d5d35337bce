{#- Every contact between a customer and the brand, stitched to its customer. Web and app events are grouped into
    sessions per customer (so a session spans the customer's cookies and devices): a new session starts after
    var('session_timeout_seconds') without an event, or at a campaign landing. engagement_channel is the channel a
    journey credits for this touch, or NULL when it is not engagement (the channel registry's touchpoints.engagement):
    a session counts once, at its start, on the channel that brought it. Bot traffic is excluded here and counted
    in agg_touchpoint_coverage. -#}
{%- set timeout = var('session_timeout_seconds') | int -%}
{#- The channels whose touches are grouped into sessions (touchpoints.sessions in the registry): web and app. -#}
{%- set is_session_channel = sql_in('channel', session_channels()) -%}

with touches as (
    select u.*, r.customer_id
    from {{ ref('int_touchpoints_unioned') }} as u
    inner join {{ ref('int_records_customers') }} as r on u.record_id = r.record_id
    where not u.is_bot and r.customer_id is not null
),

web_and_app as (
    select
        *,
        case
            when lag(occurred_at) over (partition by customer_id order by occurred_at, record_id) is null then 1
            when {{ dbt.datediff('lag(occurred_at) over (partition by customer_id order by occurred_at, record_id)',
                                 'occurred_at', 'second') }} > {{ timeout }} then 1
            when traffic_channel is not null then 1
            else 0
        end as starts_session
    from touches
    where {{ is_session_channel }}
),

numbered as (
    select
        *,
        sum(starts_session) over (
            partition by customer_id order by occurred_at, record_id
            rows between unbounded preceding and current row
        ) as session_number
    from web_and_app
),

sessions as (
    select
        *,
        min(occurred_at) over (partition by customer_id, session_number) as session_started_at
    from numbered
),

sessionized as (
    select
        record_id, occurred_at, event_date, channel, touch_type, direction, campaign_id, device_type,
        traffic_channel, customer_id,
        {{ dbt.hash("customer_id || '|' || cast(session_started_at as " ~ dbt.type_string() ~ ")") }} as session_id,
        starts_session = 1 as is_session_start
    from sessions
),

messages as (
    select
        record_id, occurred_at, event_date, channel, touch_type, direction, campaign_id, device_type,
        traffic_channel, customer_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        false as is_session_start
    from touches
    where not {{ is_session_channel }}
),

all_touches as (
    select * from sessionized
    union all
    select * from messages
)

select
    record_id as touchpoint_id,
    customer_id,
    occurred_at,
    event_date,
    channel,
    touch_type,
    direction,
    campaign_id,
    device_type,
    session_id,
    is_session_start,
    case
        when is_session_start and {{ is_engagement('channel', "'session_start'") }} then coalesce(traffic_channel, channel)
        when not is_session_start and {{ is_session_channel }} then null
        when {{ is_engagement('channel', 'touch_type') }} then channel
    end as engagement_channel
from all_touches
