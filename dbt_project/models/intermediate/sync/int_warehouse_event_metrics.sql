{#- What each staged row counts toward the daily totals, with its lineage (file and line): one row per staged row
    and metric. A view, read whole by int_warehouse_daily_totals and, by lineage, by `omnichannel forget`, which
    tallies the rows it erases with these same definitions. `distinct_key` is set where the source counts distinct
    keys rather than rows (an order's versions count once a day); otherwise `value` adds up. -#}
{{ config(materialized='view') }}
{#- One select per metric of every channel registry entry with `sync`: its counts (one per row, or distinct keys),
    and its sums (of every row, or of each key's first row only: an order as first placed). -#}
{%- set null_string = 'cast(null as ' ~ dbt.type_string() ~ ')' -%}
{%- set streams = channel_streams('sync') -%}

with
{%- for source, entry in streams %}
{%- for metric, spec in (entry.sync.get('sums') or {}).items() if spec.get('once_per') %}
{{ source }}_first_{{ metric }} as (
    select
        source_file, source_line, {{ channel_record_sql(entry, 'event_date') }} as event_date,
        {{ channel_sql(spec.value) }} as value,
        row_number() over (partition by {{ channel_sql(spec.once_per) }}
                           order by {{ channel_sql(spec.first_by, 'source_file, source_line') }}) as version
    from {{ ref(entry.model) }}
),
{%- endfor %}
{%- endfor %}

metrics as (
    {%- set selects = [] -%}
    {%- for source, entry in streams -%}
    {%- set counts = entry.sync.get('counts') -%}
    {%- if counts -%}
    {%- set select_counts %}
    select '{{ source }}' as source, source_file, source_line,
        {{ channel_record_sql(entry, 'event_date') }} as event_date,
        'count' as metric_kind, {{ channel_sql(counts.metric) }} as metric,
        {%- if counts.get('distinct_key') is not none %}
        null as value, cast({{ channel_sql(counts.distinct_key) }} as {{ dbt.type_string() }}) as distinct_key
        {%- else %}
        1 as value, {{ null_string }} as distinct_key
        {%- endif %}
    from {{ ref(entry.model) }}
    {%- endset -%}
    {%- do selects.append(select_counts) -%}
    {%- endif -%}
    {%- for metric, spec in (entry.sync.get('sums') or {}).items() -%}
    {%- set select_sum %}
    {%- if spec.get('once_per') %}
    select '{{ source }}', source_file, source_line, event_date, 'sum', '{{ metric }}', value, {{ null_string }}
    from {{ source }}_first_{{ metric }}
    where version = 1
    {%- else %}
    select '{{ source }}', source_file, source_line, {{ channel_record_sql(entry, 'event_date') }}, 'sum',
        '{{ metric }}', {{ channel_sql(spec.value) }}, {{ null_string }}
    from {{ ref(entry.model) }}
    {%- endif %}
    {%- endset -%}
    {%- do selects.append(select_sum) -%}
    {%- endfor -%}
    {%- endfor %}
    {{ selects | join('\n    union all') }}
)

select
    source,
    source_file,
    source_line,
    event_date,
    metric_kind,
    metric,
    cast(value as decimal(38, 6)) as value,
    distinct_key
from metrics
