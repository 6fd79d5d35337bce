"""What a delivery day's files were when they were loaded, so that a run loads only days that are new or changed.

A fingerprint is a digest of each file's name, size and content (BLAKE2b), per raw table and day: a file re-written
with the same bytes (a source re-delivering, the simulator run again) leaves it as it was, a changed, added or
removed file changes it. Each load records its fingerprint in `raw.landing_fingerprints`, in the transaction
that replaces the day, so the warehouse itself says what it holds: a deleted or replaced warehouse loads again.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

import duckdb

from orchestration.ingestion.landing import control_files, partition_files
from orchestration.ingestion.sources import RAW_TABLES

CONTROL_TABLE = "control_totals"

FINGERPRINT_DDL = """
create schema if not exists raw;
create table if not exists raw.landing_fingerprints (
    table_name varchar, _delivery_date date, files integer, fingerprint varchar, _loaded_at timestamp);
"""


def files_fingerprint(landing_dir: Path, files: Iterable[Path]) -> str:
    """One digest of these files' names (relative to the landing zone), sizes and contents."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(files):
        with path.open("rb") as handle:
            content = hashlib.file_digest(handle, "blake2b").hexdigest()
        digest.update(f"{path.relative_to(landing_dir).as_posix()}\0{path.stat().st_size}\0{content}\n".encode())
    return digest.hexdigest()


def day_files(landing_dir: Path, day: str) -> dict[str, list[Path]]:
    """Each raw table's files of the delivery day, and the control totals', by table name."""
    files = {t.table: partition_files(landing_dir, t, day) for t in RAW_TABLES}
    files[CONTROL_TABLE] = control_files(landing_dir, day)
    return files


def record_fingerprint(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    day: date,
    landing_dir: Path,
    files: Sequence[Path],
    loaded_at: datetime,
) -> None:
    """Note what was loaded for this table and day (call inside the transaction that replaces the day)."""
    record_fingerprints(con, table_name, {day: files}, landing_dir, loaded_at)


def record_fingerprints(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    files_by_day: Mapping[date, Sequence[Path]],
    landing_dir: Path,
    loaded_at: datetime,
) -> None:
    """Note what was loaded for this table on each of these days, in two statements whatever the number of days
    (call inside the transaction that replaces the days)."""
    if not files_by_day:
        return
    con.execute(FINGERPRINT_DDL)
    days = list(files_by_day)
    con.execute(
        "delete from raw.landing_fingerprints where table_name = ? and list_contains(?, _delivery_date)",
        [table_name, days],
    )
    # One row per day, from parallel lists (unnest of each, in step).
    counts = [len(files) for files in files_by_day.values()]
    prints = [files_fingerprint(landing_dir, files) for files in files_by_day.values()]
    con.execute(
        "insert into raw.landing_fingerprints select ?, unnest(?), unnest(?), unnest(?), ?",
        [table_name, days, counts, prints, loaded_at],
    )


def drop_fingerprint(con: duckdb.DuckDBPyConnection, table_name: str, day: date | str) -> None:
    """Count this table and day as not loaded (its rows failed their checks): the next run loads it again."""
    con.execute(FINGERPRINT_DDL)
    con.execute("delete from raw.landing_fingerprints where table_name = ? and _delivery_date = ?", [table_name, day])


def loaded_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(table, day) -> the fingerprint of what the warehouse loaded; empty for a warehouse that never loaded."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = 'landing_fingerprints'"
    ).fetchone()[0]
    if not exists:
        return {}
    rows = con.execute("select table_name, _delivery_date::varchar, fingerprint from raw.landing_fingerprints")
    return {(table, day): fingerprint for table, day, fingerprint in rows.fetchall()}


def changed_days(landing_dir: Path, days: Sequence[str], loaded: dict[tuple[str, str], str]) -> list[str]:
    """The days among `days` whose files differ, for any table, from what was loaded (never loaded counts)."""
    changed = []
    for day in days:
        for table, files in day_files(landing_dir, day).items():
            if loaded.get((table, day)) != files_fingerprint(landing_dir, files):
                changed.append(day)
                break
    return changed
