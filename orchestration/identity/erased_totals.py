"""What `omnichannel forget` erased, per source, event day and metric: the sources still count those events.

The tally goes to `raw.erased_daily_totals`, which `int_warehouse_daily_totals` reads into its `erased` column,
so `agg_sync_accuracy` accounts for erased events openly instead of failing every later publication. It holds
counts and sums only: no identifier, file or line. The rows are tallied through the view
`intermediate.int_warehouse_event_metrics` (what each staged row counts toward, by lineage), so the metric
definitions stay in one place, dbt's.
"""

import duckdb

from orchestration.warehouse import tables_in

ERASED_DDL = """
create table if not exists raw.erased_daily_totals (
    source varchar, event_date date, metric_kind varchar, metric varchar, value decimal(38, 6), erased_at timestamp);
"""
METRICS_VIEW = "int_warehouse_event_metrics"
# A predicate on a raw table aliased `r`: the row is among the noted lines.
NOTED_SQL = "exists (select 1 from _erased_lines as e where e._file = r._file and e._line = r._line)"


def start(con: duckdb.DuckDBPyConnection) -> None:
    """An empty list of the raw lines about to be erased (file and line), for `note` and `record`."""
    con.execute("create or replace temp table _erased_lines (_file varchar, _line bigint)")


def note(con: duckdb.DuckDBPyConnection, raw_table: str, predicate: str) -> None:
    """Remember the lineage of the rows of `raw_table` matching `predicate`, before they are erased."""
    con.execute(f"insert into _erased_lines select _file, _line from raw.{raw_table} where {predicate}")


def record(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Tally the noted lines that the staged models count; returns (lines noted, staged rows tallied).

    Lines only a duplicate copy or a model outside the sync totals held count for nothing, as in the sources'
    own totals. Lines loaded since the last transform have no staged rows yet, so they cannot be tallied.
    """
    noted = con.execute("select count(*) from _erased_lines").fetchall()[0][0]
    if METRICS_VIEW not in tables_in(con, "intermediate") or not noted:
        return noted, 0
    con.execute(ERASED_DDL)
    con.execute(f"""create or replace temp table _erased_metrics as
        select m.* from intermediate.{METRICS_VIEW} as m
        inner join _erased_lines as e on m.source_file = e._file and m.source_line = e._line""")
    # The same aggregation as int_warehouse_daily_totals: rows add up, distinct keys count once a day.
    con.execute("""insert into raw.erased_daily_totals
        select source, event_date, metric_kind, metric, sum(value), current_timestamp
        from _erased_metrics where distinct_key is null group by source, event_date, metric_kind, metric
        union all
        select source, event_date, metric_kind, metric, count(distinct distinct_key), current_timestamp
        from _erased_metrics where distinct_key is not null group by source, event_date, metric_kind, metric""")
    tallied = con.execute("select count(distinct (source_file, source_line)) from _erased_metrics").fetchall()[0][0]
    con.execute("drop table _erased_metrics")
    return noted, tallied
