{#- Who held each phone number, and when. A number linked to one owning customer bridges everything seen with it.
    Owners one after another (a recycled number) split it into ownership periods, each bridging only its own
    period's customers. Owners at the same time make it shared: it bridges no one. -#}
{%- set owner_types = var('identity_phone_owner_types') -%}

with links as (
    select
        e.node_a as phone_node,
        c.base_component_id,
        min(e.first_at) as first_at,
        max(e.last_at) as last_at,
        sum(e.records) as records
    from {{ ref('int_identity_edges') }} as e
    inner join {{ ref('int_identity_base_components') }} as c on e.node_b = c.node_id
    where e.edge_kind = 'phone'
    group by e.node_a, c.base_component_id
),

owner_components as (
    select distinct c.base_component_id
    from {{ ref('int_identity_base_components') }} as c
    inner join {{ ref('int_identity_identifiers') }} as i on c.node_id = i.node_id
    where i.is_bridge
        and i.identifier_type in ({% for t in owner_types %}'{{ t }}'{{ ", " if not loop.last }}{% endfor %})
),

owner_links as (
    select
        l.phone_node,
        l.base_component_id,
        l.first_at,
        l.last_at,
        row_number() over (partition by l.phone_node order by l.first_at, l.base_component_id) as owner_seq,
        max(l.last_at) over (
            partition by l.phone_node order by l.first_at, l.base_component_id
            rows between unbounded preceding and 1 preceding
        ) as earlier_owners_last_at,
        lead(l.first_at) over (partition by l.phone_node order by l.first_at, l.base_component_id) as next_owner_from
    from links as l
    inner join owner_components as o on l.base_component_id = o.base_component_id
),

ownership as (
    select
        phone_node,
        case
            when count(*) = 1 then 'single'
            when max(case when earlier_owners_last_at > first_at then 1 else 0 end) = 1 then 'shared'
            else 'recycled'
        end as ownership
    from owner_links
    group by phone_node
),

periods as (
    select
        o.phone_node,
        o.owner_seq as epoch,
        case when o.owner_seq > 1 then o.first_at end as valid_from,
        o.next_owner_from as valid_to
    from owner_links as o
    inner join ownership as m on o.phone_node = m.phone_node
    where m.ownership = 'recycled'
),

assigned as (
    select
        l.phone_node,
        l.base_component_id,
        l.first_at,
        l.last_at,
        l.records,
        coalesce(m.ownership, 'single') as ownership,
        coalesce(p.epoch, 1) as epoch,
        p.valid_from,
        p.valid_to
    from links as l
    left join ownership as m on l.phone_node = m.phone_node
    left join periods as p
        on l.phone_node = p.phone_node
        and m.ownership = 'recycled'
        and (p.valid_from is null or l.first_at >= p.valid_from)
        and (p.valid_to is null or l.first_at < p.valid_to)
)

select
    phone_node,
    epoch,
    ownership,
    valid_from,
    valid_to,
    base_component_id,
    first_at,
    last_at,
    records,
    ownership <> 'shared' as bridges
from assigned
