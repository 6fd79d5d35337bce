{#- The records identity resolution reads, from the channel registry (var channels): (source, staging model, time
    expression, bot expression, identifier columns as (identifier_type, expression), identifier types a checkout
    links to its shop order). A record is one staged row; identifiers in the same record are linked. -#}
{% macro identity_record_specs() %}
{%- set user_id_type = var('identity_user_id_type') -%}
{%- set specs = [] -%}
{%- for source, entry in channel_streams('identity') -%}
    {%- set columns = [] -%}
    {%- for identifier_type, expr in entry.identity.identifiers.items() -%}
        {%- do columns.append((user_id_type if identifier_type == 'user_id' else identifier_type, channel_sql(expr))) -%}
    {%- endfor -%}
    {%- set checkout_types = [] -%}
    {%- for identifier_type in entry.identity.get('checkout_links') or [] -%}
        {%- do checkout_types.append(user_id_type if identifier_type == 'user_id' else identifier_type) -%}
    {%- endfor -%}
    {%- do specs.append((source, entry.model, channel_record_sql(entry, 'occurred_at'),
                         channel_record_sql(entry, 'is_bot'), columns, checkout_types)) -%}
{%- endfor -%}
    {{ return(specs) }}
{% endmacro %}

{#- The sources that hold identifiers of the given types (a record can only link them if it holds one). -#}
{% macro identity_sources_with(identifier_types) %}
    {%- set names = [] -%}
    {%- for source, model, time_expr, bot_expr, columns, checkout_types in identity_record_specs() -%}
        {%- for identifier_type, expr in columns if identifier_type in identifier_types and source not in names -%}
            {%- do names.append(source) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}
