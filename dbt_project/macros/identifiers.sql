{#- Emails as one person's: trimmed, lower-cased, `+tag` removed from the local part; blank is NULL. -#}
{% macro normalize_email(expr) -%}
    {{ return(adapter.dispatch('normalize_email', 'omnichannel')(expr)) }}
{%- endmacro %}
{% macro default__normalize_email(expr) -%}
    nullif(regexp_replace(lower(trim({{ expr }})), '[+][^@]*@', '@'), '')
{%- endmacro %}

{#- Social handles compare case-insensitively, with their leading @. -#}
{% macro normalize_handle(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{#- One query-string parameter of a URL (gclid, fbclid, utm_*), or NULL. -#}
{% macro url_param(url, name) -%}
    {{ return(adapter.dispatch('url_param', 'omnichannel')(url, name)) }}
{%- endmacro %}
{% macro duckdb__url_param(url, name) -%}
    nullif(regexp_extract({{ url }}, '[?&]{{ name }}=([^&#]*)', 1), '')
{%- endmacro %}

{#- E.164 for a phone as typed, from the `phonenumbers` lookup that ingestion keeps in raw.phone_numbers. -#}
{% macro phone_lookup_join(alias, raw_phone_expr) -%}
    left join {{ source('raw', 'phone_numbers') }} as {{ alias }}
        on {{ alias }}.raw_phone = {{ raw_phone_expr }} and {{ alias }}.region = '{{ var("phone_region") }}'
{%- endmacro %}

{#- Staging's lineage columns, the same in every model. -#}
{% macro lineage_columns() -%}
    _file as source_file,
    _line as source_line,
    _delivery_date as delivery_date,
    _loaded_at as loaded_at
{%- endmacro %}

{#- True when a string matches an RE2/Java regular expression. -#}
{% macro regex_matches(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'omnichannel')(expr, pattern)) }}
{%- endmacro %}
{% macro duckdb__regex_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}
{% macro spark__regex_matches(expr, pattern) -%}
    ({{ expr }} rlike '{{ pattern }}')
{%- endmacro %}
