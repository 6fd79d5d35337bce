{#- Incremental by delivery day. A staging model with one row per non-duplicate raw row is built incrementally:
    each run re-stages only the delivery days whose non-duplicate raw rows changed since the model staged them,
    replacing each such day whole, and drops days raw no longer holds. A day changes when it is loaded again, when
    `forget` deletes rows of it, and also when another day is loaded: duplicates are decided across days (the
    first copy of an event id wins), so loading one day can flip the duplicate flag of a row of another. Comparing
    a per-day signature (row count and a sum of row hashes over event id, file, line and load time) of raw with the
    model's own catches all three, whatever the ingestion did: the load time, because a day loaded again may hold
    the same events at the same places with other content. Late arrivals need no lookback here: raw is partitioned by
    the day a line was delivered, and a late event is simply a row of the day it arrived.
    A change of a staging model's SQL or of a var it reads (phone_region) needs `--full-refresh`, as with any
    dbt incremental model. -#}

{#- The model's config: incremental, and the pre-hook that deletes the days about to be re-staged. -#}
{% macro staged_by_delivery_day(raw_table) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy=delivery_day_strategy(),
        partition_by=delivery_day_partitioning(),
        on_schema_change='fail',
        pre_hook="{{ delete_restaged_days('" ~ raw_table ~ "') }}"
    ) }}
{%- endmacro %}

{#- DuckDB appends the days after deleting them; Spark overwrites the days' partitions (ROADMAP: insert_overwrite
    with partition_by is the incremental strategy that works there). -#}
{% macro delivery_day_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'append') }}
{%- endmacro %}

{% macro delivery_day_partitioning() -%}
    {{ return(['delivery_date'] if target.type == 'spark' else none) }}
{%- endmacro %}

{#- The delivery days to stage again: those whose signature in raw differs from the model's, and those the model
    holds that raw no longer does. -#}
{% macro restaged_days(raw_table) -%}
    select _delivery_date as delivery_date from (
        select _delivery_date, count(*) as row_count, sum(hash(_event_id, _file, _line, _loaded_at)) as row_hashes
        from {{ source('raw', raw_table) }}
        where not _is_duplicate
        group by _delivery_date
        except
        select delivery_date, count(*), sum(hash(event_id, source_file, source_line, loaded_at))
        from {{ this }}
        group by delivery_date
    )
    union
    select delivery_date from (
        select delivery_date from {{ this }}
        except
        select _delivery_date from {{ source('raw', raw_table) }} where not _is_duplicate
    )
{%- endmacro %}

{#- The days to stage again, as ISO strings, found when the model runs (once when its SQL is compiled, once more
    in its pre-hook, before anything changed), and said in the log. -#}
{% macro restaged_day_list(raw_table, say=false) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set days = run_query(restaged_days(raw_table)).columns[0].values() | map('string') | sort -%}
    {%- if say -%}
        {{ log(this.identifier ~ ': restaging ' ~ (days | length) ~ ' delivery day(s)'
               ~ (': ' ~ days | join(', ') if days else ''), info=true) }}
    {%- endif -%}
    {{ return(days) }}
{%- endmacro %}

{% macro delivery_day_literals(days) -%}
    {%- for day in days -%}cast('{{ day }}' as date){{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}

{#- The staging model's filter on its raw rows: on an incremental run, only the days to stage again. -#}
{% macro restaged_days_filter(raw_table) -%}
    {%- if is_incremental() -%}
        {%- set days = restaged_day_list(raw_table, say=true) %}
        and {% if days %}_delivery_date in ({{ delivery_day_literals(days) }}){% else %}false{% endif %}
    {%- endif %}
{%- endmacro %}

{#- Pre-hook: on an incremental run, delete the days about to be staged again (Spark overwrites their
    partitions instead, and keeps a day raw lost entirely until a full refresh). -#}
{% macro delete_restaged_days(raw_table) -%}
    {%- if is_incremental() and target.type != 'spark' -%}
        {%- set days = restaged_day_list(raw_table) -%}
        {%- if days -%}
        delete from {{ this }} where delivery_date in ({{ delivery_day_literals(days) }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
