{#- Every identifier in every staged record, with the record's lineage: the evidence the identity graph is built from.
    A record is one staged row; identifiers in the same record are linked. -#}
{%- set specs = identity_record_specs() -%}

with occurrences as (
{%- for source, model, time_expr, bot_expr, columns in specs %}
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
)

select * from occurrences
