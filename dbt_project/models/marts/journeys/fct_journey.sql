{#- One row per journey: every conversion (with the ordered engagement touches in its lookback window since the
    customer's previous conversion, possibly none) and every customer's open, non-converting path. -#}
with touches as (
    select * from {{ ref('int_journey_touches') }}
),

device_switches as (
    -- A switch: consecutive touches that both have a device type, and different ones.
    select journey_id, sum(case when from_device_type <> to_device_type then 1 else 0 end) as device_switches
    from {{ ref('int_journey_steps') }}
    group by journey_id
),

channel_sets as (
    select journey_id, {{ dbt.listagg('channel', "','", 'order by channel') }} as channel_set
    from (select distinct journey_id, channel from touches) as d
    group by journey_id
),

paths as (
    select
        journey_id,
        min(customer_id) as customer_id,
        min(conversion_id) as conversion_id,
        {{ dbt.listagg('channel', "' > '", 'order by touch_number') }} as path,
        count(*) as touches,
        count(distinct channel) as distinct_channels,
        min(occurred_at) as journey_started_at,
        max(journey_end_at) as journey_ended_at,
        max(case when touch_number = 1 then channel end) as first_channel,
        max(case when touch_number = journey_touches then channel end) as last_channel
    from touches
    group by journey_id
),

conversions as (
    select conversion_id, customer_id, converted_at, revenue, purchase_channel
    from {{ ref('fct_conversion') }}
),

converting as (
    select
        c.conversion_id as journey_id,
        c.customer_id,
        c.conversion_id,
        true as is_converted,
        c.converted_at,
        c.revenue,
        c.purchase_channel,
        p.path,
        coalesce(p.touches, 0) as touches,
        coalesce(p.distinct_channels, 0) as distinct_channels,
        p.first_channel,
        p.last_channel,
        p.journey_started_at,
        c.converted_at as journey_ended_at
    from conversions as c
    left join paths as p on c.conversion_id = p.journey_id
),

open_paths as (
    select
        p.journey_id,
        p.customer_id,
        cast(null as {{ dbt.type_string() }}) as conversion_id,
        false as is_converted,
        cast(null as timestamp) as converted_at,
        cast(null as decimal(18, 2)) as revenue,
        cast(null as {{ dbt.type_string() }}) as purchase_channel,
        p.path,
        p.touches,
        p.distinct_channels,
        p.first_channel,
        p.last_channel,
        p.journey_started_at,
        p.journey_ended_at
    from paths as p
    where p.conversion_id is null
),

journeys as (
    select * from converting
    union all
    select * from open_paths
)

select
    j.*,
    s.channel_set,
    case when j.is_converted and j.journey_started_at is not null
        then {{ dbt.datediff('j.journey_started_at', 'j.converted_at', 'second') }} / 86400.0
    end as days_to_convert,
    coalesce(d.device_switches, 0) as device_switches
from journeys as j
left join channel_sets as s on j.journey_id = s.journey_id
left join device_switches as d on j.journey_id = d.journey_id
