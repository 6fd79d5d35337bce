{#- JSON access to raw records. DuckDB reads JSON paths natively; a Spark version would use get_json_object. -#}
{% macro json_str(record, path) -%}
    {{ return(adapter.dispatch('json_str', 'omnichannel')(record, path)) }}
{%- endmacro %}

{% macro duckdb__json_str(record, path) -%}
    json_extract_string({{ record }}, '$.{{ path }}')
{%- endmacro %}

{#- The sum of successful refund transactions in a Shopify order's `refunds` array. -#}
{% macro successful_refunds(record) -%}
    {{ return(adapter.dispatch('successful_refunds', 'omnichannel')(record)) }}
{%- endmacro %}

{% macro duckdb__successful_refunds(record) -%}
    coalesce(list_sum(list_transform(
        list_filter(
            json_extract({{ record }}, '$.refunds[*].transactions[*]'),
            lambda t: json_extract_string(t, '$.kind') = 'refund' and json_extract_string(t, '$.status') = 'success'),
        lambda t: try_cast(json_extract_string(t, '$.amount') as decimal(18, 2)))), 0)
{%- endmacro %}

{#- The first answer to a lead-form question (`field_data[].name = field`). -#}
{% macro lead_field(record, field) -%}
    {{ return(adapter.dispatch('lead_field', 'omnichannel')(record, field)) }}
{%- endmacro %}

{% macro duckdb__lead_field(record, field) -%}
    json_extract_string(list_filter(json_extract({{ record }}, '$.field_data[*]'),
                                    lambda f: json_extract_string(f, '$.name') = '{{ field }}')[1], '$.values[0]')
{%- endmacro %}

{#- Several fields of a record with one JSON parse: `json_fields` builds the list, `json_field` reads item i (1-based).
    Each separate json_extract_string re-parses the record, which dominated staging time on wide sources. -#}
{% macro json_fields(record, paths) -%}
    {{ return(adapter.dispatch('json_fields', 'omnichannel')(record, paths)) }}
{%- endmacro %}
{% macro duckdb__json_fields(record, paths) -%}
    json_extract_string({{ record }}, [{% for path in paths %}'$.{{ path }}'{{ ", " if not loop.last }}{% endfor %}])
{%- endmacro %}

{% macro json_field(fields_column, paths, path) -%}
    {{ return(adapter.dispatch('json_field', 'omnichannel')(fields_column, paths, path)) }}
{%- endmacro %}
{% macro duckdb__json_field(fields_column, paths, path) -%}
    {{ fields_column }}[{{ paths.index(path) + 1 }}]
{%- endmacro %}
