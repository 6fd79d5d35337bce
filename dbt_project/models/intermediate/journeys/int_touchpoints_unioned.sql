{#- Every contact between a person and the brand, from every channel's staged records, before stitching:
    one row per staged event, with the channel, what happened, who acted, and the campaign. Bots are flagged here
    and excluded (and counted) downstream. Purchases themselves are in fct_conversion; a store sale is also a
    touch, since the till is the only place a store visit is seen. -#}
with email as (
    select
        'email:' || event_id as record_id,
        event_at as occurred_at,
        event_date,
        'email' as channel,
        event_type as touch_type,
        case when event_type in ('open', 'click', 'unsubscribe', 'group_unsubscribe', 'spamreport')
            then 'inbound' else 'outbound' end as direction,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ dbt.type_string() }}) as traffic_channel,
        false as is_bot
    from {{ ref('stg_email__events') }}
),

sms as (
    select
        'sms:' || event_id as record_id,
        event_at as occurred_at,
        event_date,
        'sms' as channel,
        -- An inbound message is a reply, unless it is a consent keyword (STOP, START).
        case when direction = 'inbound' then coalesce(consent_change, 'reply') else status end as touch_type,
        direction,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ dbt.type_string() }}) as traffic_channel,
        false as is_bot
    from {{ ref('stg_sms__messages') }}
),

push as (
    select
        'push:' || event_id as record_id,
        event_at as occurred_at,
        event_date,
        'push' as channel,
        event_type as touch_type,
        case when event_type = 'opened' then 'inbound' else 'outbound' end as direction,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ dbt.type_string() }}) as traffic_channel,
        false as is_bot
    from {{ ref('stg_push__events') }}
),

web as (
    select
        'web:' || event_id as record_id,
        event_at as occurred_at,
        event_date,
        'web' as channel,
        case when event_type = 'track' then {{ snake_event_name('event_name') }} else event_type end as touch_type,
        'inbound' as direction,
        utm_campaign as campaign_id,
        case when {{ regex_matches('user_agent', '(Mobile|Android|iPhone|iPad)') }} then 'mobile_web' else 'desktop' end
            as device_type,
        {{ traffic_channel('utm_medium', 'gclid', 'fbclid') }} as traffic_channel,
        coalesce(is_bot_user_agent, false) as is_bot
    from {{ ref('stg_web__events') }}
),

app as (
    select
        'app:' || event_id as record_id,
        event_at as occurred_at,
        event_date,
        'app' as channel,
        case when event_type = 'track' then {{ snake_event_name('event_name') }} else event_type end as touch_type,
        'inbound' as direction,
        utm_campaign as campaign_id,
        device_type,
        {{ traffic_channel('utm_medium', 'gclid', 'fbclid') }} as traffic_channel,
        coalesce(is_bot_user_agent, false) as is_bot
    from {{ ref('stg_app__events') }}
),

ads as (
    select
        'ads:' || event_id as record_id,
        event_at as occurred_at,
        event_date,
        'ads' as channel,
        'click' as touch_type,
        'inbound' as direction,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ dbt.type_string() }}) as traffic_channel,
        false as is_bot
    from {{ ref('stg_ads__clicks') }}
),

social as (
    select
        'social:' || event_id as record_id,
        event_at as occurred_at,
        event_date,
        'social' as channel,
        action as touch_type,
        'inbound' as direction,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ dbt.type_string() }}) as traffic_channel,
        false as is_bot
    from {{ ref('stg_social__engagements') }}
),

store as (
    select
        'pos:' || event_id as record_id,
        event_at as occurred_at,
        event_date,
        'store' as channel,
        transaction_type as touch_type,
        'inbound' as direction,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ dbt.type_string() }}) as traffic_channel,
        false as is_bot
    from {{ ref('stg_pos__transactions') }}
),

support as (
    select
        'support:' || event_id as record_id,
        event_at as occurred_at,
        event_date,
        'support' as channel,
        'ticket' as touch_type,
        'inbound' as direction,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ dbt.type_string() }}) as traffic_channel,
        false as is_bot
    from {{ ref('stg_support__tickets') }}
)

select * from email
union all select * from sms
union all select * from push
union all select * from web
union all select * from app
union all select * from ads
union all select * from social
union all select * from store
union all select * from support
