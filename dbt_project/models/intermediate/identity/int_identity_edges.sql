{#- Links between identifiers seen in one record, as a star from the record's most trusted identifier (enough for
    connectivity, and linear in the record's size). Phones link separately: their ownership can end. -#}
with occurrences as (
    select
        o.record_id, o.occurred_at, i.node_id, i.identifier_type,
        cast(i.priority as bigint) * 1000000000000 + i.node_id as anchor_rank
    from {{ ref('int_identity_occurrences') }} as o
    inner join {{ ref('int_identity_identifiers') }} as i
        on o.identifier_type = i.identifier_type and o.identifier_value = i.identifier_value
    where i.is_bridge
),

anchors as (
    select record_id, min(anchor_rank) % 1000000000000 as anchor_node
    from occurrences
    where identifier_type <> 'phone'
    group by record_id
),

linked as (
    select
        a.anchor_node,
        o.node_id,
        o.identifier_type = 'phone' as is_phone,
        o.occurred_at
    from occurrences as o
    inner join anchors as a on o.record_id = a.record_id
    where o.node_id <> a.anchor_node
)

select
    case when is_phone then node_id else anchor_node end as node_a,
    case when is_phone then anchor_node else node_id end as node_b,
    case when is_phone then 'phone' else 'identifier' end as edge_kind,
    min(occurred_at) as first_at,
    max(occurred_at) as last_at,
    count(*) as records
from linked
group by 1, 2, 3
