{#- Every identifier (a phone once per ownership period) with its final component: the base components joined
    through the phones that bridge them, again to convergence. -#}
{{ config(post_hook="{{ drop_components_work(this.schema ~ '.' ~ this.identifier) }}") }}
{%- set edges_sql = "select min(base_component_id) over (partition by phone_node, epoch) as node_a,"
                    ~ " base_component_id as node_b from " ~ ref('int_identity_phone_epochs') ~ " where bridges" -%}
{%- set labels = connected_components(edges_sql, this.schema ~ '.' ~ this.identifier) -%}

with identifiers as (
    select * from {{ ref('int_identity_identifiers') }}
),

base as (
    select b.node_id, coalesce(l.component_id, b.base_component_id) as component_id
    from {{ ref('int_identity_base_components') }} as b
    left join {{ labels }} as l on b.base_component_id = l.node_id
),

phone_periods as (
    -- A bridging period belongs to its components' customer; a shared number to the customer it was seen with most.
    select
        phone_node,
        epoch,
        ownership,
        valid_from,
        valid_to,
        min(first_at) as first_at,
        max(last_at) as last_at,
        min(case when bridges then base_component_id end) as bridged_component_id,
        max(case when bridges then null else records * 1000000000000 - base_component_id end) as shared_rank
    from {{ ref('int_identity_phone_epochs') }}
    group by phone_node, epoch, ownership, valid_from, valid_to
),

phones as (
    select
        p.phone_node as node_id,
        p.epoch,
        p.ownership,
        p.valid_from,
        p.valid_to,
        p.first_at,
        p.last_at,
        coalesce(linked.component_id, p.bridged_component_id) as linked_component_id,
        -- records * 1e12 - component: the most records wins, then the smallest component.
        coalesce(shared.component_id, 1000000000000 - (p.shared_rank % 1000000000000)) as shared_component_id
    from phone_periods as p
    left join {{ labels }} as linked on p.bridged_component_id = linked.node_id
    left join {{ labels }} as shared on 1000000000000 - (p.shared_rank % 1000000000000) = shared.node_id
)

select
    i.node_id,
    i.identifier_type,
    i.identifier_value,
    1 as epoch,
    'single' as ownership,
    cast(null as timestamp) as valid_from,
    cast(null as timestamp) as valid_to,
    i.first_seen_at,
    i.last_seen_at,
    b.component_id
from identifiers as i
inner join base as b on i.node_id = b.node_id

union all

select
    i.node_id,
    i.identifier_type,
    i.identifier_value,
    coalesce(p.epoch, 1) as epoch,
    coalesce(p.ownership, 'single') as ownership,
    p.valid_from,
    p.valid_to,
    case when p.ownership = 'recycled' then coalesce(p.valid_from, i.first_seen_at) else i.first_seen_at end
        as first_seen_at,
    case when p.ownership = 'recycled' and p.valid_to is not null then p.last_at else i.last_seen_at end
        as last_seen_at,
    -- A phone seen with no other identifier is a customer of its own.
    coalesce(p.linked_component_id, p.shared_component_id, i.node_id) as component_id
from identifiers as i
left join phones as p on i.node_id = p.node_id
where i.identifier_type = 'phone'
