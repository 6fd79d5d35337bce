"""Where ingestion spends its time: every SQL statement `load_days` runs, timed and grouped, per raw table.

    .venv/bin/python benchmarks/ingest_profile.py --workdir /tmp/omni-bench [--keep-landing] [--events 1000000]

Loads every delivery day of a simulated landing zone (or the one `ingest_stage.py --keep-landing` left) into a
fresh warehouse, through a connection that times each statement. Prints wall and CPU seconds (on a shared machine
the CPU figure is the steadier one), seconds per raw table, and the statements that took longest.
"""

import collections
import os
import resource
import time
from datetime import datetime

import duckdb

from _harness import add_landing_arguments, argument_parser, simulated_landing


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class TimedConnection:
    """A DuckDB connection whose `execute` adds its wall time to the statement's entry (its first 70 characters)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con
        self.seconds: collections.Counter = collections.Counter()
        self.calls: collections.Counter = collections.Counter()

    def execute(self, sql: str, parameters=None):
        label = " ".join(sql.split())[:70]
        started = time.perf_counter()
        try:
            return self._con.execute(sql) if parameters is None else self._con.execute(sql, parameters)
        finally:
            self.seconds[label] += time.perf_counter() - started
            self.calls[label] += 1

    def __getattr__(self, name):
        return getattr(self._con, name)


def main() -> int:
    parser = argument_parser(__doc__, workdir="/tmp/omni-bench", seed=11)
    add_landing_arguments(parser)
    parser.add_argument("--top", type=int, default=20, help="how many statements to list")
    args = parser.parse_args()

    work = simulated_landing(args)
    from orchestration.ingestion.landing import landing_days
    from orchestration.ingestion.loader import load_days
    from orchestration.ingestion.sources import RAW_TABLES

    con = TimedConnection(
        duckdb.connect(str(work.warehouse), config={"memory_limit": os.environ["OMNI_DUCKDB_MEMORY_LIMIT"]})
    )
    per_table: collections.Counter = collections.Counter()
    loaded_at = datetime(2026, 1, 1)
    lines = 0
    cpu, started = _cpu_seconds(), time.perf_counter()
    days = landing_days(work.landing)
    # As a run of the whole range does: each raw table's days in one pass.
    for table in RAW_TABLES:
        table_started = time.perf_counter()
        lines += sum(s.lines_read for s in load_days(con, table, work.landing, days, loaded_at).values())
        per_table[table.table] += time.perf_counter() - table_started
    con.close()  # the checkpoint at close is part of the load
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    print(f"ingest: {lines:,} lines in {wall:.1f} s wall, {cpu:.1f} s CPU")
    for name, seconds in per_table.most_common():
        print(f"  {name:15s} {seconds:6.1f} s")
    print("slowest statements (wall seconds, calls):")
    for label, seconds in con.seconds.most_common(args.top):
        print(f"  {seconds:7.2f} {con.calls[label]:5d}  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
