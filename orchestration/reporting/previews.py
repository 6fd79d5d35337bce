"""What the Dagster UI shows of a table: its row count, its first rows and a failing test's first rows, as markdown.

These go into Dagster's event log, which `forget` cannot scrub, so any column that may name a person (an email,
a phone, a customer id, or values shaped like one) is shown as "(withheld)"; the published copy and Data Docs
hold the rows themselves.
"""

import duckdb
import pandas as pd

from orchestration.privacy.pii import may_identify

WITHHELD = "(withheld)"
MAX_CELL = 40


def row_count(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int | None:
    """Rows in `schema.table`, or None when it does not exist (a model dbt skipped or failed to build)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()[0][0]
    if not exists:
        return None
    return con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0]


def _masked_markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_no rows_"
    shown = frame.copy()
    for column in shown.columns:
        values = shown[column].tolist()
        if may_identify(str(column), [v for v in values if isinstance(v, str)]):
            shown[column] = WITHHELD
        else:
            shown[column] = [
                "" if v is None or (isinstance(v, float) and v != v) else str(v)[:MAX_CELL] for v in values
            ]
    return shown.to_markdown(index=False)


def preview_markdown(con: duckdb.DuckDBPyConnection, schema: str, table: str, limit: int = 5) -> str:
    """The table's first rows (in its own order, as DuckDB scans it) as a markdown table, identifiers withheld."""
    return _masked_markdown(con.execute(f'select * from "{schema}"."{table}" limit {int(limit)}').df())


def failing_rows_markdown(con: duckdb.DuckDBPyConnection, test_sql: str, limit: int = 5) -> str | None:
    """The first rows a failing data test returns (its compiled SQL selects the offending rows), identifiers
    withheld; None when the query cannot run any more (a table it reads is gone)."""
    try:
        frame = con.execute(f"select * from ({test_sql}) as failing limit {int(limit)}").df()
    except duckdb.Error:
        return None
    return _masked_markdown(frame)


def sync_accuracy_markdown(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> str:
    """Source x event day: the worst status of the day's metrics (agg_sync_accuracy), one markdown table."""
    frame = con.execute(
        f"""select source, event_date::varchar as event_date,
                   case max(case status when 'ok' then 0 when 'not_yet_synced' then 1
                                        when 'no_control_totals' then 2 else 3 end)
                        when 0 then 'ok' when 1 then 'not_yet_synced' when 2 then 'no_control_totals'
                        else 'ERROR' end as worst
            from "{schema}".agg_sync_accuracy group by all"""
    ).df()
    if frame.empty:
        return "_no source days yet_"
    grid = frame.pivot(index="source", columns="event_date", values="worst").fillna("")
    return grid.reset_index().to_markdown(index=False)
