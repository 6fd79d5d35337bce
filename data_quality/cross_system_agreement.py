"""Reads `marts.agg_cross_system_agreement`: the channel-days where the systems disagree past a metric's threshold."""

import duckdb

COLUMNS = ["channel", "event_date", "metric", "numerator", "denominator", "rate", "max_rate", "status"]


def describe(flag: dict) -> str:
    """`email 2026-03-03 esp_address_held_by_other_customer 4/212 (1.89% > 0.00%)`."""
    return (
        f"{flag['channel']} {flag['event_date']} {flag['metric']} {flag['numerator']}/{flag['denominator']} "
        f"({flag['rate']:.2%} > {flag['max_rate']:.2%})"
    )


def agreement_flags(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], dict, dict]:
    """The flagged rows (status warn or error), a count of rows per status, and each channel and metric's rate
    over the settled days (the share of all their sends or opted-out customers in the metric's case)."""
    rows = con.execute(
        f"select {', '.join(COLUMNS)} from marts.agg_cross_system_agreement where status in ('warn', 'error') "
        "order by status = 'warn', channel, event_date, metric"
    ).fetchall()
    flags = [
        {
            name: (
                str(value)
                if name == "event_date"
                else float(value)
                if name in ("rate", "max_rate")
                else int(value)
                if name in ("numerator", "denominator")
                else value
            )
            for name, value in zip(COLUMNS, row)
        }
        for row in rows
    ]
    summary = {
        f"rows_{status}": count
        for status, count in con.execute(
            "select status, count(*) from marts.agg_cross_system_agreement group by 1 order by 1"
        ).fetchall()
    }
    rates = {
        f"{channel} {metric}": round(float(rate), 6)
        for channel, metric, rate in con.execute(
            "select channel, metric, sum(numerator) / sum(denominator) from marts.agg_cross_system_agreement "
            "where not within_settling_window group by 1, 2 having sum(denominator) > 0 order by 1, 2"
        ).fetchall()
    }
    return flags, summary, rates
