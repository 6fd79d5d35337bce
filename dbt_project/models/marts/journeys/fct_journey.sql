{#- One row per journey: every conversion (with the ordered engagement touches in its lookback window since the
    customer's previous conversion, possibly none) and every customer's open, non-converting path. -#}
with touches as (
    select * from {{ ref('int_journey_touches') }}
),

paths as (
    select
        journey_id,
        min(customer_id) as customer_id,
        min(conversion_id) as conversion_id,
        {{ dbt.listagg('channel', "' > '", 'order by touch_number') }} as path,
        {{ sorted_distinct_agg('channel', ',') }} as channel_set,
        count(*) as touches,
        count(distinct channel) as distinct_channels,
        min(occurred_at) as journey_started_at,
        max(journey_end_at) as journey_ended_at,
        max(case when touch_number = 1 then channel end) as first_channel,
        max(case when touch_number = journey_touches then channel end) as last_channel,
        -- A switch: consecutive touches that both have a device type, and different ones.
        sum(case when device_type <> next_device_type then 1 else 0 end) as device_switches
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
        p.channel_set,
        coalesce(p.touches, 0) as touches,
        coalesce(p.distinct_channels, 0) as distinct_channels,
        p.first_channel,
        p.last_channel,
        p.journey_started_at,
        c.converted_at as journey_ended_at,
        coalesce(p.device_switches, 0) as device_switches
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
        p.channel_set,
        p.touches,
        p.distinct_channels,
        p.first_channel,
        p.last_channel,
        p.journey_started_at,
        p.journey_ended_at,
        p.device_switches
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
    case when j.is_converted and j.journey_started_at is not null
            then {{ dbt.datediff('j.journey_started_at', 'j.converted_at', 'second') }} / 86400.0
    end as days_to_convert
from journeys as j
