{#- Shared by the metrics marts (models/marts/metrics, docs/metrics.md). -#}

{#- The KPIs agg_daily_channel_kpis counts, in column order; the registry's touchpoints.kpis maps each to touch types. -#}
{% macro kpi_names() %}
    {{ return(['sends', 'deliveries', 'bounces', 'opens', 'clicks', 'replies', 'unsubscribes', 'spam_complaints']) }}
{% endmacro %}

{#- Per channel, KPI -> the touch types counted as it (the registry's touchpoints.kpis); an unknown KPI fails the
    compile, naming the entry. -#}
{% macro channel_kpi_touches() %}
    {%- set by_channel = {} -%}
    {%- for name, entry in channel_streams('touchpoints') -%}
        {%- set kpis = entry.touchpoints.get('kpis') or {} -%}
        {%- for kpi in kpis if kpi not in kpi_names() -%}
            {{ exceptions.raise_compiler_error("var channels, entry '" ~ name ~ "': unknown KPI touchpoints.kpis."
                                               ~ kpi ~ "; known: " ~ kpi_names() | join(', ')) }}
        {%- endfor -%}
        {%- set merged = by_channel.get(entry.channel, {}) -%}
        {%- for kpi, types in kpis.items() -%}
            {%- do merged.update({kpi: (merged.get(kpi, []) + types) | unique | list}) -%}
        {%- endfor -%}
        {%- do by_channel.update({entry.channel: merged}) -%}
    {%- endfor -%}
    {{ return(by_channel) }}
{% endmacro %}

{#- SQL: is this touch (channel_expr, touch_expr) counted as `kpi`? -#}
{% macro is_kpi_touch(kpi, channel_expr='channel', touch_expr='touch_type') %}
    {%- set parts = [] -%}
    {%- for channel, kpis in channel_kpi_touches().items() if kpis.get(kpi) -%}
        {%- do parts.append('(' ~ channel_expr ~ " = '" ~ channel ~ "' and " ~ sql_in(touch_expr, kpis[kpi]) ~ ')') -%}
    {%- endfor -%}
    {{ return('(' ~ (parts | join(' or ') if parts else 'false') ~ ')') }}
{% endmacro %}

{#- The attribution models of fct_attribution, in its order. -#}
{% macro attribution_models() %}
    {{ return(['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov', 'shapley']) }}
{% endmacro %}

{#- A UTC timestamp without zone as wall-clock time in the named IANA zone (DST-aware). -#}
{% macro utc_to_local(utc_expr, zone_expr) -%}
    {{ return(adapter.dispatch('utc_to_local', 'omnichannel')(utc_expr, zone_expr)) }}
{%- endmacro %}
{% macro duckdb__utc_to_local(utc_expr, zone_expr) -%}
    timezone({{ zone_expr }}, timezone('UTC', {{ utc_expr }}))
{%- endmacro %}

{#- The start of the retention period (var retention_period: month or week) holding a timestamp. -#}
{% macro retention_period_start(expr) -%}
    {%- set period = var('retention_period') -%}
    {%- if period not in ['month', 'week'] -%}
        {{ exceptions.raise_compiler_error("var retention_period must be month or week, not '" ~ period ~ "'") }}
    {%- endif -%}
    cast({{ dbt.date_trunc(period, expr) }} as date)
{%- endmacro %}

{#- Whole retention periods from one period start to another. -#}
{% macro retention_periods_between(start_expr, end_expr) -%}
    {%- if var('retention_period') == 'week' -%}
        cast(floor({{ dbt.datediff(start_expr, end_expr, 'day') }} / 7) as integer)
    {%- else -%}
        {{ dbt.datediff(start_expr, end_expr, 'month') }}
    {%- endif -%}
{%- endmacro %}
