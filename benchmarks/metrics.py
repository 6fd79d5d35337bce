"""Times the metrics layer (the metrics and compliance marts and the intermediate models only they read) on a
simulated world, beside plain DuckDB doing comparable work on the same warehouse.

    .venv/bin/python benchmarks/metrics.py [--customers 150000] [--days 30] [--workdir /tmp/omni-metrics]
                                           [--keep-warehouse]

The simulator makes about 2.2 events per customer per day, so the default world has about 10M events. Simulates
and runs the whole pipeline once untimed (so every model the metrics layer reads exists), then times `dbt run` of
the metrics layer alone, the CLV Python models included, and prints dbt's per-model seconds (slowest first), their
sum, the dbt wall time and the peak memory of the process tree. dbt runs models side by side (threads), so the sum
can exceed the wall time.

The floor, measured in the same run with dbt's threads and memory limit: one `group by event_date, channel,
campaign_id` over marts.fct_touchpoint and one rolling 7-day count per customer over the outbound touches, each
written to a table as dbt's models are.
"""

import os
import time

import duckdb

from _harness import PeakMemory, argument_parser, beside_floor, build, pipeline, run_dbt, simulate

# Folders of the metrics layer: every model under them is timed, but for the intermediate models something outside
# the layer reads too. `dbt ls --select path:models/intermediate/metrics+ path:models/intermediate/compliance+`
# lists one model outside these folders, dim_customer, which reads int_consent_events_unioned: that one belongs to
# the customer layer (int_customer_timezones reads dim_customer, so it is upstream of the metrics layer).
METRICS_LAYER = [
    "path:models/intermediate/metrics",
    "path:models/intermediate/compliance",
    "path:models/marts/metrics",
    "path:models/marts/compliance",
]
UPSTREAM_OF_METRICS_LAYER = ["int_consent_events_unioned"]

FLOOR_QUERIES = {
    "daily touches by channel and campaign": """
        create or replace table bench_floor.daily_touches as
        select event_date, channel, campaign_id, count(*) as touches, count(distinct customer_id) as customers
        from marts.fct_touchpoint
        group by event_date, channel, campaign_id""",
    "rolling 7-day sends per customer": """
        create or replace table bench_floor.rolling_sends as
        select
            touchpoint_id,
            customer_id,
            occurred_at,
            count(*) over (
                partition by customer_id order by occurred_at
                range between interval 7 days preceding and current row
            ) as sends_in_7_days
        from marts.fct_touchpoint
        where direction = 'outbound' and customer_id is not null""",
}


def floor_seconds(warehouse) -> dict[str, float]:
    """Each floor query's seconds, with dbt's threads and memory limit, in a scratch schema dropped afterwards."""
    timings = {}
    config = {
        "threads": int(os.environ.get("OMNI_DUCKDB_THREADS", "2")),
        "memory_limit": os.environ.get("OMNI_DUCKDB_MEMORY_LIMIT", "3GB"),
        "preserve_insertion_order": False,
    }
    with duckdb.connect(str(warehouse), config=config) as con:
        con.execute("create schema if not exists bench_floor")
        try:
            for name, sql in FLOOR_QUERIES.items():
                started = time.perf_counter()
                con.execute(sql)
                timings[name] = time.perf_counter() - started
        finally:
            con.execute("drop schema bench_floor cascade")
    return timings


def main() -> int:
    parser = argument_parser(__doc__, workdir="/tmp/omni-metrics", seed=1)
    parser.add_argument("--customers", type=int, default=150_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep-warehouse", action="store_true", help="reuse a built warehouse from a last run")
    args = parser.parse_args()

    memory = PeakMemory.start()
    work = pipeline(args.workdir, fresh=not args.keep_warehouse)
    if not args.keep_warehouse:
        simulate(work, customers=args.customers, days=args.days, seed=args.seed)
        build(work)
        print(f"peak memory so far (simulator and pipeline): {memory.gb():.2f} GB")

    timed_memory = PeakMemory.start()
    run = run_dbt(work, METRICS_LAYER, exclude=UPSTREAM_OF_METRICS_LAYER, what="dbt metrics layer")
    floor = floor_seconds(work.warehouse)
    with duckdb.connect(str(work.warehouse), read_only=True) as con:
        touches, outbound = con.execute(
            "select count(*), count(*) filter (where direction = 'outbound') from marts.fct_touchpoint"
        ).fetchone()
        conversions = con.execute("select count(*) from marts.fct_conversion").fetchone()[0]
    print(f"world: {touches:,} touchpoints ({outbound:,} outbound), {conversions:,} conversions")
    for model, seconds in sorted(run.model_seconds.items(), key=lambda item: -item[1]):
        print(f"  {model:<36} {seconds:6.1f} s")
    total = sum(run.model_seconds.values())
    floor_total = sum(floor.values())
    for name, seconds in floor.items():
        print(f"  floor: {name:<38} {seconds:6.1f} s")
    print(
        f"metrics layer: {len(run.model_seconds)} models, {total:.1f} s of model time "
        f"({beside_floor(total, floor_total)}), dbt run wall time {run.wall_seconds:.1f} s "
        f"({beside_floor(run.wall_seconds, floor_total)}); floor {floor_total:.1f} s; peak memory of the process tree "
        f"{timed_memory.sampled_gb():.2f} GB while timed, {memory.gb():.2f} GB over the whole script"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
