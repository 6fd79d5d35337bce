{#- Every timestamp becomes a UTC timestamp without zone. One macro per vendor format. -#}
{% macro from_unix_seconds(expr) -%}
    {{ return(adapter.dispatch('from_unix_seconds', 'omnichannel')(expr)) }}
{%- endmacro %}
{% macro duckdb__from_unix_seconds(expr) -%}
    timezone('UTC', to_timestamp({{ safe_cast(expr, 'double') }}))
{%- endmacro %}

{#- ISO 8601 with any offset (Z, -04:00, +0000) or none (read as UTC). -#}
{% macro iso8601_to_utc(expr) -%}
    {{ return(adapter.dispatch('iso8601_to_utc', 'omnichannel')(expr)) }}
{%- endmacro %}
{% macro duckdb__iso8601_to_utc(expr) -%}
    timezone('UTC', try_cast({{ expr }} as timestamptz))
{%- endmacro %}

{#- RFC 2822, as Twilio writes `date_sent`: "Sat, 14 Mar 2026 10:22:01 +0000". -#}
{% macro rfc2822_to_utc(expr) -%}
    {{ return(adapter.dispatch('rfc2822_to_utc', 'omnichannel')(expr)) }}
{%- endmacro %}
{% macro duckdb__rfc2822_to_utc(expr) -%}
    timezone('UTC', try_strptime({{ expr }}, '%a, %d %b %Y %H:%M:%S %z'))
{%- endmacro %}

{#- A wall-clock time without offset, in the named IANA zone (DST-aware), to UTC. -#}
{% macro local_to_utc(local_expr, zone_expr) -%}
    {{ return(adapter.dispatch('local_to_utc', 'omnichannel')(local_expr, zone_expr)) }}
{%- endmacro %}
{% macro duckdb__local_to_utc(local_expr, zone_expr) -%}
    timezone('UTC', timezone({{ zone_expr }}, try_cast({{ local_expr }} as timestamp)))
{%- endmacro %}
