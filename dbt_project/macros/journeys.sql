{#- The channel that brought a web or app event, from its campaign signals, or NULL when it has none:
    a click id means ads; utm_medium maps to the channel registry entry that lists it in touchpoints.utm_mediums. -#}
{% macro traffic_channel(utm_medium, gclid, fbclid) -%}
    case
        when {{ gclid }} is not null or {{ fbclid }} is not null then 'ads'
        {%- for medium, channel in traffic_channel_by_utm_medium().items() %}
        when lower({{ utm_medium }}) = '{{ medium }}' then '{{ channel }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- Segment event names as touch types: `Order Completed` -> `order_completed`. -#}
{% macro snake_event_name(expr) -%}
    lower(replace(trim({{ expr }}), ' ', '_'))
{%- endmacro %}

{#- A Segment event's touch type: a track call's snake-cased event name, else the call type (page, identify). -#}
{% macro segment_touch_type(event_type, event_name) -%}
    case when {{ event_type }} = 'track' then {{ snake_event_name(event_name) }} else {{ event_type }} end
{%- endmacro %}

{#- A browser's device type from its user agent. -#}
{% macro device_type_from_user_agent(user_agent) -%}
    case when {{ regex_matches(user_agent, '(Mobile|Android|iPhone|iPad)') }} then 'mobile_web' else 'desktop' end
{%- endmacro %}

{#- True when (channel, touch_type) is engagement by the channel registry (touchpoints.engagement). -#}
{% macro is_engagement(channel, touch_type) -%}
    {%- set pairs = [] -%}
    {%- for c, types in engagement_touches().items() -%}
        {%- for t in types -%}{%- do pairs.append("'" ~ c ~ ":" ~ t ~ "'") -%}{%- endfor -%}
    {%- endfor -%}
    {%- if pairs -%}
    {{ channel }} || ':' || {{ touch_type }} in ({{ pairs | join(', ') }})
    {%- else -%}
    false
    {%- endif -%}
{%- endmacro %}

{#- The exact median of a column in an aggregate. -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'omnichannel')(expr)) }}
{%- endmacro %}
{% macro duckdb__median(expr) -%}
    median({{ expr }})
{%- endmacro %}
{% macro spark__median(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}

{#- The distinct values of a column in an aggregate, sorted and joined by a separator: a channel set. -#}
{% macro sorted_distinct_agg(expr, separator) -%}
    {{ return(adapter.dispatch('sorted_distinct_agg', 'omnichannel')(expr, separator)) }}
{%- endmacro %}
{% macro duckdb__sorted_distinct_agg(expr, separator) -%}
    array_to_string(list_sort(list_distinct(list({{ expr }}))), '{{ separator }}')
{%- endmacro %}
{% macro spark__sorted_distinct_agg(expr, separator) -%}
    array_join(array_sort(collect_set({{ expr }})), '{{ separator }}')
{%- endmacro %}
