{#- A stable customer_id per component: the hash of its earliest-delivered identifier (then the most trusted).
    New data is delivered later, so it never changes an existing customer's anchor unless it merges two customers;
    then the earlier customer's id survives. Shared identifiers (a family tablet) go to the customer seen with
    them most; junk and bot-only identifiers belong to no one. -#}
with components as (
    select
        c.*,
        i.priority,
        i.first_delivery_date,
        i.sources,
        i.is_shared,
        i.is_junk,
        i.is_bot
    from {{ ref('int_identity_components') }} as c
    inner join {{ ref('int_identity_identifiers') }} as i on c.node_id = i.node_id
),

kept as (
    select * from components
    where not is_junk and not is_bot
),

anchors as (
    select
        component_id,
        identifier_type || ':' || identifier_value
        || case when epoch > 1 then '#' || cast(epoch as {{ dbt.type_string() }}) else '' end as anchor_key,
        row_number() over (
            partition by component_id
            order by
                case when epoch > 1 then cast(valid_from as date) else first_delivery_date end,
                priority, identifier_type, identifier_value, epoch
        ) as anchor_rank
    from kept
    where not is_shared and ownership <> 'shared'
),

component_customers as (
    select component_id, 'cus_' || substr({{ dbt.hash('anchor_key') }}, 1, 20) as customer_id
    from anchors
    where anchor_rank = 1
),

shared_records as (
    select s.node_id, so.record_id, so.identifier_type, so.identifier_value
    from kept as s
    inner join {{ ref('int_identity_occurrences') }} as so
        on s.identifier_type = so.identifier_type and s.identifier_value = so.identifier_value
    where s.is_shared
),

shared_seen_with as (
    -- For each shared identifier, the customers in the same records, by how often. The few records that hold a
    -- shared identifier are found first, so the occurrences are probed by them and not joined whole.
    select
        sr.node_id,
        cc.customer_id,
        count(*) as records
    from shared_records as sr
    inner join {{ ref('int_identity_occurrences') }} as other
        on sr.record_id = other.record_id
        and not (sr.identifier_type = other.identifier_type and sr.identifier_value = other.identifier_value)
    inner join kept as k
        on other.identifier_type = k.identifier_type and other.identifier_value = k.identifier_value
        and not k.is_shared
    inner join component_customers as cc on k.component_id = cc.component_id
    where other.record_id in (select record_id from shared_records)
    group by sr.node_id, cc.customer_id
),

shared_owner as (
    select node_id, customer_id
    from (
        select
            node_id, customer_id,
            row_number() over (partition by node_id order by records desc, customer_id asc) as seen_rank
        from shared_seen_with
    ) as ranked
    where seen_rank = 1
)

select
    k.node_id,
    k.identifier_type,
    k.identifier_value,
    k.epoch,
    k.ownership,
    k.valid_from,
    k.valid_to,
    k.first_seen_at,
    k.last_seen_at,
    k.first_delivery_date,
    k.sources,
    k.is_shared or k.ownership = 'shared' as is_shared,
    coalesce(so.customer_id, cc.customer_id) as customer_id
from kept as k
left join component_customers as cc on k.component_id = cc.component_id
left join shared_owner as so on k.node_id = so.node_id and k.is_shared
where coalesce(so.customer_id, cc.customer_id) is not null
