"""Times ingestion plus dbt staging on a simulated landing zone, beside DuckDB merely reading the same files.

    .venv/bin/python benchmarks/ingest_stage.py --events 10000000 [--days 30] [--workdir /tmp/omni-bench]

Prints events per second, peak memory, and the ratio to the floor measured in the same run (machines are
noisy, so the floor is never taken from a table).
"""

import os
import time
from datetime import datetime
from pathlib import Path

import duckdb

from _harness import (
    PeakMemory,
    add_landing_arguments,
    argument_parser,
    beside_floor,
    landing_files,
    read_files_floor,
    run_dbt,
    simulated_landing,
)


def floor_read_seconds(landing: Path) -> tuple[float, int]:
    """DuckDB scanning every landing file with its own readers, no loading: the floor."""
    return read_files_floor(landing_files(landing))


def main() -> int:
    parser = argument_parser(__doc__, workdir="/tmp/omni-bench", seed=11)
    add_landing_arguments(parser)
    args = parser.parse_args()

    memory = PeakMemory.start()
    work = simulated_landing(args)
    from orchestration import settings
    from orchestration.ingestion.control import load_control_day
    from orchestration.ingestion.landing import landing_days
    from orchestration.ingestion.loader import load_days
    from orchestration.ingestion.phones import normalize_new_phones
    from orchestration.ingestion.sources import RAW_TABLES

    floor, floor_rows = floor_read_seconds(work.landing)
    print(f"floor (DuckDB reading every file): {floor_rows:,} lines in {floor:.1f} s")

    con = duckdb.connect(str(work.warehouse), config={"memory_limit": os.environ["OMNI_DUCKDB_MEMORY_LIMIT"]})
    started = time.perf_counter()
    loaded_at = datetime.utcnow()
    lines = 0
    days = landing_days(work.landing)
    # As a run of the whole range does: each raw table's days in one pass, then the control totals day by day.
    for table in RAW_TABLES:
        lines += sum(s.lines_read for s in load_days(con, table, work.landing, days, loaded_at).values())
    for day in days:
        load_control_day(con, work.landing, day, loaded_at)
    normalize_new_phones(con, settings.phone_region())
    con.close()
    ingest = time.perf_counter() - started
    print(f"ingest: {lines:,} lines in {ingest:.1f} s ({lines / ingest:,.0f} lines/s)")

    stage = run_dbt(work, ["staging"], what="dbt staging").wall_seconds
    total = ingest + stage
    print(f"staging (dbt run --select staging): {stage:.1f} s")
    print(
        f"ingest + stage: {total:.1f} s, {lines / total:,.0f} events/s, "
        f"{beside_floor(total, floor)}, peak memory {memory.gb():.2f} GB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
