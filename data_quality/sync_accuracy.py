"""Reads `marts.agg_sync_accuracy`: which settled source-days disagree with their sources' control totals."""

import duckdb


def sync_failures(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], dict]:
    """The failing rows (status 'error') and a count of rows per status."""
    columns = [
        "source",
        "event_date",
        "metric_kind",
        "metric",
        "control_value",
        "warehouse_value",
        "erased_value",
        "abs_difference",
    ]
    rows = con.execute(
        f"select {', '.join(columns)} from marts.agg_sync_accuracy where status = 'error' "
        "order by source, event_date, metric_kind, metric"
    ).fetchall()
    failures = [
        {
            name: (
                str(value)
                if name == "event_date"
                else float(value)
                if name.endswith(("value", "difference"))
                else value
            )
            for name, value in zip(columns, row)
        }
        for row in rows
    ]
    summary = {
        f"rows_{status}": count
        for status, count in con.execute(
            "select status, count(*) from marts.agg_sync_accuracy group by 1 order by 1"
        ).fetchall()
    }
    return failures, summary
