"""Loads one delivery day of one raw table, replacing the partition in a single transaction.

Every line read ends up loaded (first copy of its event id), flagged duplicate, or quarantined with
its reason; `raw.ingest_log` records the counts, and they reconcile by construction.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from orchestration.ingestion.fingerprints import record_fingerprint
from orchestration.ingestion.landing import partition_files
from orchestration.ingestion.layout import LandingLayoutError, is_delivery_day
from orchestration.ingestion.lines import DEFAULT_MAX_LINE_BYTES
from orchestration.ingestion.reader import LandingFileError, classify_file
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


def _stage_partition(
    con: duckdb.DuckDBPyConnection, table: RawTable, landing_dir: Path, files: list[Path], max_line_bytes: int
) -> None:
    """Classify every file's lines into temp table `_partition_rows` (outside the transaction)."""
    con.execute(
        "create or replace temp table _partition_rows "
        "(_file varchar, _line bigint, line varchar, record json, event_id varchar, reason varchar)"
    )
    for path in files:
        classify_file(con, table, path, path.relative_to(landing_dir).as_posix(), max_line_bytes)
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
            "the partition was left as it was"
        )


def _replace_partition(con: duckdb.DuckDBPyConnection, table: RawTable, day: date, loaded_at: datetime) -> None:
    raw = f"raw.{table.table}"
    con.execute(
        f"create or replace temp table _previous_ids as select distinct _event_id from {raw} where _delivery_date = ?",
        [day],
    )
    con.execute(f"delete from {raw} where _delivery_date = ?", [day])
    con.execute("delete from raw.quarantine where table_name = ? and _delivery_date = ?", [table.table, day])
    con.execute(
        f"""insert into {raw}
            select event_id, record, false, _file, _line, ?, ?
            from _partition_rows where reason is null""",
        [day, loaded_at],
    )
    con.execute(
        """insert into raw.quarantine
           select ?, ?, _file, _line, ?, reason, line, ? from _partition_rows where reason is not null""",
        [table.source, table.table, day, loaded_at],
    )
    _flag_duplicates(con, raw, day)


def _flag_duplicates(con: duckdb.DuckDBPyConnection, raw: str, day: date) -> None:
    """Only the first copy of an event id (by delivery day, file, line) is not a duplicate.

    Decided here for every id this partition has or had, so it stays true whatever order partitions are
    (re)loaded in: an id is ranked again when it now has more than one copy or a copy on another day. One hash
    semi-join of the table's ids against the partition's keeps it cheap; only those ids are ever ranked, and the
    days their copies are on are what the ingest log counts again (`_reranked`).
    """
    con.execute(
        f"""create or replace temp table _recheck_ids as
            select _event_id from {raw}
            where _event_id in (select event_id from _partition_rows where reason is null
                                union select _event_id from _previous_ids)
            group by _event_id having count(*) > 1 or bool_or(_delivery_date <> ?)""",
        [day],
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
    con: duckdb.DuckDBPyConnection, table: RawTable, day: date, files: int, loaded_at: datetime
) -> None:
    con.execute("delete from raw.ingest_log where table_name = ? and _delivery_date = ?", [table.table, day])
    con.execute(
        "insert into raw.ingest_log select ?, ?, ?, ?, (select count(*) from _partition_rows), 0, 0, 0, ?",
        [table.source, table.table, day, files, loaded_at],
    )
    # Reloading one day can move the first copy of an event between days: the day itself and every day holding a
    # copy of an event whose flags were decided again (`_reranked`) are counted again; no other day's split moved.
    moved = [row[0] for row in con.execute("select distinct _delivery_date from _reranked").fetchall()]
    recount_ingest_log(con, table, days=[day, *moved])


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
    # The days as literals, so that DuckDB skips every other day's row groups (a subquery reads them all).
    listed = ", ".join(f"date '{d.isoformat()}'" for d in sorted(set(days)))
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


def load_partition(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    landing_dir: Path,
    day: str,
    loaded_at: datetime,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> PartitionStats:
    """Replace delivery day `day` of `raw.<table>` from the landing files, atomically."""
    if not is_delivery_day(day):
        raise LandingLayoutError(f"{landing_dir / table.source / day}: not a delivery day (expected YYYY-MM-DD)")
    ensure_raw_schema(con, table)
    files = partition_files(landing_dir, table, day)
    delivery_date = date.fromisoformat(day)
    _checkpoint_less_often(con)
    _stage_partition(con, table, landing_dir, files, max_line_bytes)
    # Lines of people erased by `omnichannel forget` never load again, whatever file they come back in.
    suppress_staged_rows(con, table)
    _assert_loadable(con, landing_dir)
    con.execute("begin transaction")
    try:
        _replace_partition(con, table, delivery_date, loaded_at)
        _refresh_ingest_log(con, table, delivery_date, len(files), loaded_at)
        record_fingerprint(con, table.table, delivery_date, landing_dir, files, loaded_at)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    row = con.execute(
        "select files, lines_read, rows_loaded, duplicates, quarantined from raw.ingest_log "
        "where table_name = ? and _delivery_date = ?",
        [table.table, delivery_date],
    ).fetchall()[0]
    return PartitionStats(table.table, delivery_date, *row)


__all__ = [
    "LandingFileError",
    "PartitionStats",
    "ensure_raw_schema",
    "load_partition",
    "partition_files",
    "recount_ingest_log",
]
