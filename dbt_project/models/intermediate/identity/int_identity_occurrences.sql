{#- Every identifier in every staged record, with the record's lineage: the evidence the identity graph is built from.
    A record is one staged row; identifiers in the same record are linked. -#}
{%- set specs = identity_record_specs() -%}

with occurrences as (
    {%- for source, model, time_expr, bot_expr, columns, checkout_types in specs %}
    {%- set outer = loop -%}
    {%- for identifier_type, expr in columns %}
    -- One scan of the staged table per identifier column: a shared CTE per source would be materialized whole.
    select
        '{{ source }}:' || event_id as record_id,
        '{{ source }}' as source,
        source_file,
        source_line,
        delivery_date,
        {{ time_expr }} as occurred_at,
        coalesce({{ bot_expr }}, false) as is_bot,
        '{{ identifier_type }}' as identifier_type,
        nullif(trim(cast({{ expr }} as {{ dbt.type_string() }})), '') as identifier_value
    from {{ ref(model) }}
    where nullif(trim(cast({{ expr }} as {{ dbt.type_string() }})), '') is not null
    {{ "union all" if not (loop.last and outer.last) }}
    {%- endfor %}
    {%- endfor %}
),

order_records as (
    select order_id, min(event_id) as event_id
    from {{ ref('stg_orders__order_versions') }}
    group by order_id
),

checkout_links as (
    -- The shop order and the Order Completed event of the same checkout are one record: the cookie, device and
    -- login of the session that bought (a registry entry's identity.checkout_links) join the order's email, phone
    -- and shop customer id.
    {%- for source, model, time_expr, bot_expr, columns, checkout_types in specs if checkout_types %}
    {%- set outer = loop -%}
    {%- for identifier_type, expr in columns if identifier_type in checkout_types %}
    select
        'orders:' || o.event_id as record_id,
        '{{ source }}' as source,
        e.source_file,
        e.source_line,
        e.delivery_date,
        e.{{ time_expr }} as occurred_at,
        coalesce(e.{{ bot_expr }}, false) as is_bot,
        '{{ identifier_type }}' as identifier_type,
        nullif(trim(cast(e.{{ expr }} as {{ dbt.type_string() }})), '') as identifier_value
    from {{ ref(model) }} as e
    inner join order_records as o on e.order_id = o.order_id
    where e.event_name = 'Order Completed'
        and nullif(trim(cast(e.{{ expr }} as {{ dbt.type_string() }})), '') is not null
    {{ "union all" if not (loop.last and outer.last) }}
    {%- endfor %}
    {%- endfor %}
)

select * from occurrences
union all
select * from checkout_links
