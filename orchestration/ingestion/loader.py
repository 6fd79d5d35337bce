"""Loads delivery days of one raw table, replacing them in a single transaction.

Every line read ends up loaded (first copy of its event id), flagged duplicate, or quarantined with
its reason; `raw.ingest_log` records the counts, and they reconcile by construction.

A range of days is loaded in one pass (`load_days`): each file is still parsed on its own, but the work that does
not depend on the day (the replace, the duplicate ranking, the ingest-log recount, the suppression check, the
DDL) runs once for the range, not once per day. It was most of a backfill's time: about 17 statements per table
and day, 360 partitions in a 30-day world.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from orchestration.ingestion.fingerprints import record_fingerprints
from orchestration.ingestion.landing import partition_files
from orchestration.ingestion.layout import LandingLayoutError, is_delivery_day
from orchestration.ingestion.lines import DEFAULT_MAX_LINE_BYTES
from orchestration.ingestion.reader import LandingFileError, classify_file, classify_jsonl_files
from orchestration.ingestion.sources import RawTable
from orchestration.privacy.suppression import suppress_staged_rows

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.quarantine (
    source varchar, table_name varchar, _file varchar, _line bigint, _delivery_date date,
    reason varchar, raw_line varchar, _loaded_at timestamp);
create table if not exists raw.ingest_log (
    source varchar, table_name varchar, _delivery_date date, files integer, lines_read bigint,
    rows_loaded bigint, duplicates bigint, quarantined bigint, _loaded_at timestamp);
"""


@dataclass(frozen=True)
class PartitionStats:
    table: str
    delivery_date: date
    files: int
    lines_read: int
    rows_loaded: int
    duplicates: int
    quarantined: int

    def as_metadata(self) -> dict:
        return {
            "files": self.files,
            "lines_read": self.lines_read,
            "rows_loaded": self.rows_loaded,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
        }


def ensure_raw_schema(con: duckdb.DuckDBPyConnection, table: RawTable | None = None) -> None:
    con.execute(RAW_DDL)
    if table is not None:
        con.execute(
            f"""create table if not exists raw.{table.table} (
                _event_id varchar, record json, _is_duplicate boolean, _file varchar, _line bigint,
                _delivery_date date, _loaded_at timestamp)"""
        )


# DuckDB checkpoints whenever its write-ahead log passes 16 MB, and each checkpoint rewrites what every earlier
# partition touched (the day's duplicate flags, the ingest log): measured, a third of a backfill's time. Every
# commit still reaches the log, so nothing is less durable; the database checkpoints when it is closed.
LOAD_CHECKPOINT_MIB = 256
_SIZE = re.compile(r"([\d.]+)\s*(bytes|KiB|MiB|GiB|TiB)")
_MIB = {"bytes": 1 / 1024**2, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "TiB": 1024**2}


def _checkpoint_less_often(con: duckdb.DuckDBPyConnection) -> None:
    """Raise the database's checkpoint threshold to LOAD_CHECKPOINT_MIB, never lower one set higher."""
    shown = con.execute("select current_setting('checkpoint_threshold')").fetchall()[0][0]
    size = _SIZE.fullmatch(shown.strip())
    if size is None or float(size.group(1)) * _MIB[size.group(2)] < LOAD_CHECKPOINT_MIB:
        con.execute(f"set checkpoint_threshold = '{LOAD_CHECKPOINT_MIB}MiB'")


def _stage_days(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    landing_dir: Path,
    files_by_day: dict[date, list[Path]],
    max_line_bytes: int,
) -> None:
    """Classify every file's lines into temp table `_partition_rows`, each row with its delivery day (outside the
    transaction)."""
    con.execute(
        "create or replace temp table _partition_rows "
        "(_file varchar, _line bigint, line varchar, record json, event_id varchar, reason varchar, "
        "_delivery_date date)"
    )
    listed = [
        (path, path.relative_to(landing_dir).as_posix(), day) for day, files in files_by_day.items() for path in files
    ]
    # Most JSON-lines files are clean text: the range in one statement. Any other file, or a range with a file
    # that is not, is classified file by file (which finds the lines that are not text, and names a broken file).
    if table.format == "jsonl" and classify_jsonl_files(con, table, listed, max_line_bytes):
        listed = []
    for path, relative, day in listed:
        classify_file(con, table, path, relative, day, max_line_bytes)
    # The last file's lines would otherwise stay in memory until the next partition.
    con.execute("drop table if exists _file_lines; drop table if exists _csv_lines")


def _assert_loadable(con: duckdb.DuckDBPyConnection, landing_dir: Path) -> None:
    """Refuse the partition if a row to load lacks its record or event id: it would poison every later run."""
    bad = con.execute(
        """select _file, min(_line), count(*) from _partition_rows
           where reason is null and (record is null or event_id is null) group by _file order by _file limit 1"""
    ).fetchall()
    if bad:
        file, line, rows = bad[0]
        raise LandingFileError(
            f"{landing_dir / file}, line {line}: {rows} row(s) would load without a record or an event id; "
            "no day was loaded"
        )


def _days_sql(days: list[date]) -> str:
    # The days as literals, so that DuckDB skips every other day's row groups (a subquery reads them all).
    return ", ".join(f"date '{d.isoformat()}'" for d in sorted(set(days)))


def _replace_days(con: duckdb.DuckDBPyConnection, table: RawTable, days: list[date], loaded_at: datetime) -> None:
    raw = f"raw.{table.table}"
    listed = _days_sql(days)
    con.execute(
        f"create or replace temp table _previous_ids as "
        f"select distinct _event_id from {raw} where _delivery_date in ({listed})"
    )
    con.execute(f"delete from {raw} where _delivery_date in ({listed})")
    con.execute(f"delete from raw.quarantine where table_name = ? and _delivery_date in ({listed})", [table.table])
    con.execute(
        f"""insert into {raw}
            select event_id, record, false, _file, _line, _delivery_date, ?
            from _partition_rows where reason is null""",
        [loaded_at],
    )
    con.execute(
        """insert into raw.quarantine
           select ?, ?, _file, _line, _delivery_date, reason, line, ? from _partition_rows where reason is not null""",
        [table.source, table.table, loaded_at],
    )
    _flag_duplicates(con, raw, listed)


def _flag_duplicates(con: duckdb.DuckDBPyConnection, raw: str, listed: str) -> None:
    """Only the first copy of an event id (by delivery day, file, line) is not a duplicate.

    Decided here for every id the days loaded have or had, so it stays true whatever order days are (re)loaded
    in: an id is ranked again when it now has more than one copy or a copy on a day not loaded now. One hash
    semi-join of the table's ids against the staged ones keeps it cheap; only those ids are ever ranked, and the
    days their copies are on are what the ingest log counts again (`_reranked`).
    """
    con.execute(
        f"""create or replace temp table _recheck_ids as
            select _event_id from {raw}
            where _event_id in (select event_id from _partition_rows where reason is null
                                union select _event_id from _previous_ids)
            group by _event_id having count(*) > 1 or bool_or(_delivery_date not in ({listed}))"""
    )
    con.execute(
        f"""create or replace temp table _reranked as
            select _event_id, _delivery_date, _file, _line,
                   row_number() over (partition by _event_id order by _delivery_date, _file, _line) > 1 as is_duplicate
            from {raw} where _event_id in (select _event_id from _recheck_ids)"""
    )
    con.execute(
        f"""update {raw} t set _is_duplicate = r.is_duplicate
            from _reranked r
            where t._event_id = r._event_id and t._delivery_date = r._delivery_date
              and t._file = r._file and t._line = r._line and t._is_duplicate <> r.is_duplicate"""
    )


def _refresh_ingest_log(
    con: duckdb.DuckDBPyConnection, table: RawTable, files_by_day: dict[date, list[Path]], loaded_at: datetime
) -> None:
    days = list(files_by_day)
    listed = _days_sql(days)
    con.execute(f"delete from raw.ingest_log where table_name = ? and _delivery_date in ({listed})", [table.table])
    # Every day loaded has its line, a day without files too (0 files, 0 lines).
    files = ", ".join(f"(date '{d.isoformat()}', {len(f)})" for d, f in files_by_day.items())
    con.execute(
        f"""insert into raw.ingest_log
            select ?, ?, d._delivery_date, d.files, coalesce(r.lines_read, 0), 0, 0, 0, ?
            from (values {files}) d(_delivery_date, files)
            left join (select _delivery_date, count(*) as lines_read from _partition_rows group by all) r
                using (_delivery_date)""",
        [table.source, table.table, loaded_at],
    )
    # Reloading days can move the first copy of an event between days: the days themselves and every day holding
    # a copy of an event whose flags were decided again (`_reranked`) are counted again; no other day's split moved.
    moved = [row[0] for row in con.execute("select distinct _delivery_date from _reranked").fetchall()]
    recount_ingest_log(con, table, days=[*days, *moved])


def recount_ingest_log(con: duckdb.DuckDBPyConnection, table: RawTable, days: list[date] | None = None) -> None:
    """The loaded, duplicate and quarantined counts of the logged `days` (every logged day by default), from what
    raw and quarantine hold now."""
    if days is None:
        days = [
            row[0]
            for row in con.execute(
                "select distinct _delivery_date from raw.ingest_log where table_name = ?", [table.table]
            ).fetchall()
        ]
    if not days:
        return
    listed = _days_sql(days)
    con.execute(
        f"""update raw.ingest_log l set
                rows_loaded = coalesce(r.rows_loaded, 0), duplicates = coalesce(r.duplicates, 0),
                quarantined = coalesce(q.quarantined, 0)
            from (select unnest([{listed}]) as _delivery_date) d
            left join (select _delivery_date, count(*) filter (where not _is_duplicate) as rows_loaded,
                              count(*) filter (where _is_duplicate) as duplicates
                       from raw.{table.table} where _delivery_date in ({listed}) group by all) r using (_delivery_date)
            left join (select _delivery_date, count(*) as quarantined from raw.quarantine
                       where table_name = ? and _delivery_date in ({listed}) group by all) q using (_delivery_date)
            where l.table_name = ? and l._delivery_date = d._delivery_date""",
        [table.table, table.table],
    )


def load_days(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    landing_dir: Path,
    days: list[str],
    loaded_at: datetime,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> dict[str, PartitionStats]:
    """Replace delivery days `days` of `raw.<table>` from the landing files, all in one transaction.

    A file that cannot be read stops the load before anything is written: no day of the range changes.
    """
    for day in days:
        if not is_delivery_day(day):
            raise LandingLayoutError(f"{landing_dir / table.source / day}: not a delivery day (expected YYYY-MM-DD)")
    days = list(dict.fromkeys(days))
    if not days:
        return {}
    ensure_raw_schema(con, table)
    files_by_day = {date.fromisoformat(day): partition_files(landing_dir, table, day) for day in days}
    _checkpoint_less_often(con)
    _stage_days(con, table, landing_dir, files_by_day, max_line_bytes)
    # Lines of people erased by `omnichannel forget` never load again, whatever file they come back in.
    suppress_staged_rows(con, table)
    _assert_loadable(con, landing_dir)
    con.execute("begin transaction")
    try:
        _replace_days(con, table, list(files_by_day), loaded_at)
        _refresh_ingest_log(con, table, files_by_day, loaded_at)
        record_fingerprints(con, table.table, files_by_day, landing_dir, loaded_at)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    rows = con.execute(
        f"""select _delivery_date::varchar, files, lines_read, rows_loaded, duplicates, quarantined
            from raw.ingest_log where table_name = ? and _delivery_date in ({_days_sql(list(files_by_day))})""",
        [table.table],
    ).fetchall()
    stats = {day: PartitionStats(table.table, date.fromisoformat(day), *counts) for day, *counts in rows}
    return {day: stats[day] for day in days}


def load_partition(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    landing_dir: Path,
    day: str,
    loaded_at: datetime,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> PartitionStats:
    """Replace delivery day `day` of `raw.<table>` from the landing files, atomically."""
    return load_days(con, table, landing_dir, [day], loaded_at, max_line_bytes)[day]


__all__ = [
    "LandingFileError",
    "PartitionStats",
    "ensure_raw_schema",
    "load_days",
    "load_partition",
    "partition_files",
    "recount_ingest_log",
]
