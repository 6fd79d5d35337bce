-- The sources' own daily totals, one row per source, day and metric.
select
    source,
    date as event_date,
    kind as metric_kind,
    metric,
    value,
    _file as source_file,
    _loaded_at as loaded_at
from {{ source('raw', 'control_totals') }}
