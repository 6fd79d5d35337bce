"""Loads the source systems' own daily totals (`_control/<source>/<day>.json`) into `raw.control_totals`."""

from datetime import date, datetime
from pathlib import Path

import duckdb

from orchestration.ingestion.errors import LandingFileError, duckdb_failure
from orchestration.ingestion.fingerprints import CONTROL_TABLE, record_fingerprint
from orchestration.ingestion.landing import control_files

CONTROL_DDL = """
create schema if not exists raw;
create table if not exists raw.control_totals (
    source varchar, date date, kind varchar, metric varchar, value decimal(38, 6),
    _file varchar, _loaded_at timestamp);
"""


def load_control_day(con: duckdb.DuckDBPyConnection, landing_dir: Path, day: str, loaded_at: datetime) -> int:
    """Replace every source's totals for `day`, atomically; returns the number of metrics loaded."""
    con.execute(CONTROL_DDL)
    con.execute("create or replace temp table _control_rows as select * from raw.control_totals limit 0")
    files = control_files(landing_dir, day)
    for path in files:
        relative = path.relative_to(landing_dir).as_posix()
        try:
            con.execute(
                """insert into _control_rows
                   with doc as (select content::json as j from read_text(?))
                   select j->>'source', (j->>'date')::date, kind, metric,
                          (j->kind_key->>metric)::decimal(38, 6), ?, ?
                   from doc,
                        (values ('count', 'counts'), ('sum', 'sums')) k(kind, kind_key),
                        unnest(json_keys(j->kind_key)) m(metric)""",
                [str(path), relative, loaded_at],
            )
        except duckdb.Error as exc:
            raise duckdb_failure(path, "not a valid control-totals file", exc) from None
        expected_source = path.parent.name
        wrong = con.execute(
            "select count(*) from _control_rows where _file = ? and (source <> ? or date <> ?)",
            [relative, expected_source, date.fromisoformat(day)],
        ).fetchall()[0][0]
        if wrong:
            raise LandingFileError(f"{path}: its source/date fields do not match its path")
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.control_totals where date = ?", [date.fromisoformat(day)])
        con.execute("insert into raw.control_totals select * from _control_rows order by source, kind, metric")
        record_fingerprint(con, CONTROL_TABLE, date.fromisoformat(day), landing_dir, files, loaded_at)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return con.execute("select count(*) from _control_rows").fetchall()[0][0]
