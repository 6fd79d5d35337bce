"""Times ingestion plus dbt staging on a simulated landing zone, beside DuckDB merely reading the same files.

    .venv/bin/python benchmarks/ingest_stage.py --events 10000000 [--days 30] [--workdir /tmp/omni-bench]

Prints events per second, peak memory, and the ratio to the floor measured in the same run (machines are
noisy, so the floor is never taken from a table).
"""
import argparse
import os
import resource
import shutil
import time
from datetime import datetime
from pathlib import Path

import duckdb


def _peak_rss_gb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024 / 1024


def floor_read_seconds(landing: Path) -> tuple[float, int]:
    """DuckDB scanning every landing file with its own readers, no loading: the floor."""
    con = duckdb.connect()
    started = time.perf_counter()
    rows = 0
    jsonl = [str(p) for p in landing.glob("*/*/*.jsonl*") if not p.parts[-3].startswith("_")]
    csv = [str(p) for p in landing.glob("*/*/*.csv*") if not p.parts[-3].startswith("_")]
    if jsonl:
        rows += con.execute(
            "select count(*) from read_json(?, format='newline_delimited', columns={'j': 'JSON'}, "
            "records=false, ignore_errors=true)", [jsonl]).fetchall()[0][0]
    for path in csv:
        rows += con.execute(
            "select count(*) from read_csv(?, all_varchar=true, ignore_errors=true)", [path]).fetchall()[0][0]
    return time.perf_counter() - started, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/omni-bench"))
    parser.add_argument("--keep-landing", action="store_true", help="reuse a landing zone already simulated")
    args = parser.parse_args()

    landing = args.workdir / "landing"
    warehouse = args.workdir / "warehouse.duckdb"
    os.environ.update(OMNI_HOME=str(args.workdir), OMNI_LANDING_DIR=str(landing), OMNI_WAREHOUSE=str(warehouse))
    import simulator
    from orchestration import settings
    from orchestration.ingestion.control import load_control_day
    from orchestration.ingestion.loader import load_partition
    from orchestration.ingestion.phones import normalize_new_phones
    from orchestration.ingestion.sources import RAW_TABLES
    from orchestration.defs.partitions import landing_days

    settings.apply_defaults()
    if not (args.keep_landing and landing.exists()):
        shutil.rmtree(args.workdir, ignore_errors=True)
        customers = simulator.customers_for_events(args.events, args.days)
        started = time.perf_counter()
        simulator.simulate(landing, customers=customers, days=args.days, seed=args.seed)
        print(f"simulate: {customers:,} customers, {args.days} days in {time.perf_counter() - started:.1f} s")
    warehouse.unlink(missing_ok=True)

    floor, floor_rows = floor_read_seconds(landing)
    print(f"floor (DuckDB reading every file): {floor_rows:,} lines in {floor:.1f} s")

    con = duckdb.connect(str(warehouse), config={"memory_limit": os.environ["OMNI_DUCKDB_MEMORY_LIMIT"]})
    started = time.perf_counter()
    loaded_at = datetime.utcnow()
    lines = 0
    for day in landing_days(landing):
        for table in RAW_TABLES:
            lines += load_partition(con, table, landing, day, loaded_at).lines_read
        load_control_day(con, landing, day, loaded_at)
    normalize_new_phones(con, settings.phone_region())
    con.close()
    ingest = time.perf_counter() - started
    print(f"ingest: {lines:,} lines in {ingest:.1f} s ({lines / ingest:,.0f} lines/s)")

    from dbt.cli.main import dbtRunner

    started = time.perf_counter()
    result = dbtRunner().invoke(["run", "--select", "staging", "--project-dir", str(settings.DBT_PROJECT_DIR),
                                 "--profiles-dir", str(settings.DBT_PROJECT_DIR), "--quiet"])
    stage = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"dbt staging failed: {result.exception}")
    total = ingest + stage
    print(f"staging (dbt run --select staging): {stage:.1f} s")
    print(f"ingest + stage: {total:.1f} s, {lines / total:,.0f} events/s, "
          f"{total / floor:.1f}x the floor, peak memory {_peak_rss_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
