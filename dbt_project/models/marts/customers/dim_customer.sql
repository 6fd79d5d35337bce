{#- One row per unified customer: golden attributes by survivorship (the most trusted, then most recent source),
    when and where they engaged, current consent per channel, and the primary email's verification status. -#}
{#- From the channel registry (var channels): each source's contact trust, the channel a source's records are
    engagement on, and the channels with a consent status. -#}
{%- set contact_trust = [] -%}
{%- for source, entry in channel_streams('identity') if entry.identity.get('contact_trust') is not none -%}
{%- do contact_trust.append((source, entry.identity.contact_trust)) -%}
{%- endfor -%}
{%- set source_channels = engaged_channel_by_source() -%}
{%- set consented_channels = consent_channels() -%}

with identifiers as (
    select * from {{ ref('customer_identifier') }}
),

occurrences as (
    -- Contacts seen for each customer, with the source and time; phones only within their ownership period.
    select
        i.customer_id,
        i.identifier_type,
        i.identifier_value,
        o.source,
        o.occurred_at,
        o.record_id
    from {{ ref('int_identity_occurrences') }} as o
    inner join identifiers as i
        on o.identifier_type = i.identifier_type
        and o.identifier_value = i.identifier_value
        and (i.valid_from is null or o.occurred_at >= i.valid_from)
        and (i.valid_to is null or o.occurred_at < i.valid_to)
),

crm_rows as (
    select i.customer_id, r.*
    from {{ ref('stg_crm__customer_rows') }} as r
    inner join identifiers as i on i.identifier_type = 'crm_id' and r.customer_id = i.identifier_value
),

golden_crm as (
    select *
    from (
        select
            customer_id, first_name, last_name, birth_date, gender,
            row_number() over (
                partition by customer_id order by delivery_date desc, source_file desc, source_line desc
            ) as recency
        from crm_rows
    ) as ranked
    where recency = 1
),

contact_ranked as (
    select
        customer_id,
        identifier_type,
        identifier_value,
        row_number() over (
            partition by customer_id, identifier_type
            order by min(case source
                {%- for s, trust in contact_trust %} when '{{ s }}' then {{ trust }}{% endfor %} else 99
            end),
            max(occurred_at) desc, identifier_value
        ) as contact_rank
    from occurrences
    where identifier_type in ('email', 'phone')
    group by customer_id, identifier_type, identifier_value
),

primary_contacts as (
    select
        customer_id,
        max(case when identifier_type = 'email' then identifier_value end) as primary_email,
        max(case when identifier_type = 'phone' then identifier_value end) as primary_phone
    from contact_ranked
    where contact_rank = 1
    group by customer_id
),

channels as (
    select
        customer_id, {{ dbt.listagg('channel', "','", "order by channel") }} as channels_engaged,
        count(*) as channel_count
    from (
        select distinct
            customer_id,
            case source {%- for s, c in source_channels.items() %} when '{{ s }}' then '{{ c }}'{% endfor %} end as channel
        from occurrences
        where {{ sql_in('source', source_channels.keys() | list) }}
    ) as d
    group by customer_id
),

consent_changes as (
    -- The CRM's consent log, plus what the channels themselves heard: STOP/START texts and unsubscribes.
    select customer_id, channel, consent_status, event_at from {{ ref('int_consent_events_unioned') }}
),

current_consent as (
    select
        customer_id,
    {%- for channel in consented_channels %}
    max(case when channel = '{{ channel }}' then consent_status end) as {{ channel }}_consent{{ "," if not loop.last }}
    {%- endfor %}
    from (
        select
            customer_id, channel, consent_status,
            row_number() over (partition by customer_id, channel order by event_at desc, consent_status asc) as recency
        from consent_changes
    ) as ranked
    where recency = 1
    group by customer_id
),

customers as (
    select
        customer_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        count(*) as identifiers,
        sum(case when identifier_type in ('crm_id', 'shop_customer_id', 'email', 'phone', 'loyalty_id')
                then 1
            else 0
        end) > 0 as is_known,
        max(case when identifier_type = 'crm_id' then identifier_value end) as crm_id,
        max(case when identifier_type = 'shop_customer_id' then identifier_value end) as shop_customer_id,
        max(case when identifier_type = 'loyalty_id' then identifier_value end) as loyalty_id
    from identifiers
    group by customer_id
)

select
    c.customer_id,
    g.first_name,
    g.last_name,
    g.birth_date,
    g.gender,
    p.primary_email,
    e.email_status,
    p.primary_phone,
    c.crm_id,
    c.shop_customer_id,
    c.loyalty_id,
    c.is_known,
    c.identifiers,
    c.first_seen_at,
    c.last_seen_at,
    ch.channels_engaged,
    coalesce(ch.channel_count, 0) as channel_count
    {%- for channel in consented_channels %},
    cc.{{ channel }}_consent
{%- endfor %}
from customers as c
left join golden_crm as g on c.customer_id = g.customer_id
left join primary_contacts as p on c.customer_id = p.customer_id
left join {{ source('raw', 'email_addresses') }} as e on p.primary_email = e.email
left join channels as ch on c.customer_id = ch.customer_id
left join current_consent as cc on c.customer_id = cc.customer_id
