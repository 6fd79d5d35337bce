{#- Customers before phones: connected components of every non-phone link. Phones join these afterwards,
    once their ownership periods are known (int_identity_phone_epochs). -#}
{{ config(post_hook="{{ drop_components_work(this.schema ~ '.' ~ this.identifier) }}") }}
{%- set edges_sql = "select node_a, node_b from " ~ ref('int_identity_edges') ~ " where edge_kind = 'identifier'" -%}
{%- set labels = connected_components(edges_sql, this.schema ~ '.' ~ this.identifier) -%}

select
    i.node_id,
    coalesce(l.component_id, i.node_id) as base_component_id
from {{ ref('int_identity_identifiers') }} as i
left join {{ labels }} as l on i.node_id = l.node_id
where i.identifier_type <> 'phone'
