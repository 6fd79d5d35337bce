{#- The quintile band (1-5) of `value_expr` among all rows, ascending: 5 is the top fifth. Tied values share the
    band of their first position, 1 + floor(5 (rank - 1) / n): equal customers always get the same score (ntile(5)
    would split them by an arbitrary tie-break), and the large tie at the bottom of a short history (everyone who
    bought once) stays in band 1 instead of reaching the middle. Without ties this is ntile(5) when n is a
    multiple of 5. -#}
{% macro quintile_band(value_expr) -%}
    1 + cast(floor(5 * (rank() over (order by {{ value_expr }}) - 1) / cast(count(*) over () as double)) as integer)
{%- endmacro %}

{#- The first segment of var('rfm_segments') whose recency, frequency and monetary bands all hold, else 'Others'. -#}
{% macro rfm_segment(recency_score, frequency_score, monetary_score) -%}
    case
    {%- for segment in var('rfm_segments') %}
        when {{ recency_score }} between {{ segment.recency[0] }} and {{ segment.recency[1] }}
            and {{ frequency_score }} between {{ segment.frequency[0] }} and {{ segment.frequency[1] }}
            and {{ monetary_score }} between {{ segment.monetary[0] }} and {{ segment.monetary[1] }}
            then '{{ segment.name | replace("'", "''") }}'
    {%- endfor %}
        else 'Others'
    end
{%- endmacro %}
