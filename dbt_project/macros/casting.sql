{#- NULL for a value that does not cast, on every engine (dbt.safe_cast raises on DuckDB). -#}
{% macro safe_cast(expr, type) -%}
    {{ return(adapter.dispatch('safe_cast', 'omnichannel')(expr, type)) }}
{%- endmacro %}
{% macro default__safe_cast(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}
