{#- Every customer_id that stopped being used, and the id that took over its identifiers: appended each run by
    comparing the published-before-this-run customer_identifier with this run's assignment. `--full-refresh` leaves it
    be (full_refresh=false): it is the only record of the moves, and no rebuild from raw could restore it. -#}
{{ config(materialized='incremental', full_refresh=false) }}
{%- set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier='customer_identifier') -%}

with current_ids as (
    select identifier_type, identifier_value, epoch as ownership_period, customer_id
    from {{ ref('int_identity_customer_ids') }}
),

{% if previous is not none %}
changes as (
    select
        p.customer_id as old_customer_id,
        c.customer_id as new_customer_id,
        count(*) as identifiers_moved
    from {{ previous }} as p
    inner join current_ids as c
        on p.identifier_type = c.identifier_type
        and p.identifier_value = c.identifier_value
        and p.ownership_period = c.ownership_period
    where p.customer_id <> c.customer_id
    group by p.customer_id, c.customer_id
),
{% else %}
changes as (
    select
        cast(null as {{ dbt.type_string() }}) as old_customer_id,
        cast(null as {{ dbt.type_string() }}) as new_customer_id,
        cast(0 as bigint) as identifiers_moved
    where 1 = 0
),
{% endif %}

surviving as (
    select distinct customer_id from current_ids
)

select
    ch.old_customer_id,
    ch.new_customer_id,
    case when s.customer_id is null then 'merged' else 'split' end as change_type,
    ch.identifiers_moved,
    {{ dbt.current_timestamp() }} as changed_at
from changes as ch
left join surviving as s on ch.old_customer_id = s.customer_id
{% if is_incremental() %}
where not exists (
        select 1 from {{ this }} as h
        where h.old_customer_id = ch.old_customer_id and h.new_customer_id = ch.new_customer_id
    )
{% endif %}
