{#- Rows whose value is not a channel of the registry's touchpoints, nor one of `also` (e.g. attribution's 'direct'). -#}
{% test is_channel(model, column_name, also=[]) %}
select {{ column_name }}, count(*) as copies
from {{ model }}
where {{ column_name }} is not null and not {{ sql_in(column_name, touchpoint_channels() + also) }}
group by {{ column_name }}
{% endtest %}
