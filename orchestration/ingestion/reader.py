"""Classifies every line of one landing file: a parsed record with its event id, or a quarantine reason.

Every physical line of a file comes out exactly once, with its true line number, so the caller can prove that
lines read = rows loaded + duplicates + quarantined. Reading is `lines.py` (one DuckDB scan, lines that are not
text set aside); CSV parsing is `csv_records.py`; the checks of a record against the registry are here.
"""

from datetime import date
from pathlib import Path

import duckdb

from orchestration.ingestion.csv_records import csv_rows_sql
from orchestration.ingestion.errors import LandingFileError, duckdb_failure
from orchestration.ingestion.lines import (
    DEFAULT_MAX_LINE_BYTES,
    files_lines_sql,
    read_lines,
    rejected_lines,
    streamed_lines_sql,
)
from orchestration.ingestion.sources import RawTable

# What a classified line is, in `_partition_rows`.
_STAGED_COLUMNS = "_file, _line, line, record, event_id, reason, _delivery_date"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _date(day: date) -> str:
    return f"date '{day.isoformat()}'"


def _json_path(field: str) -> str:
    return _quote("$." + field)


def _fields(table: RawTable) -> list[str]:
    """Every field ingestion reads: required ones, the event id's, identifiers; extracted with one JSON parse."""
    return list(dict.fromkeys(table.required_fields + table.event_id_fields + table.scalar_fields))


def _extract_all(table: RawTable, json_sql: str) -> str:
    """Every field of `_fields` as text, from a JSON value already validated (NULL for a line that is not JSON).

    The guard is `try_cast(line as json)`, not `try(...)`: `try` re-runs a whole vector row by row once one line in
    it fails, which made extraction four times dearer on files with a malformed line; the two agree on every line.
    """
    paths = "[" + ", ".join(_json_path(f) for f in _fields(table)) + "]"
    return f"json_extract_string({json_sql}, {paths})"


def _missing_field_reason(table: RawTable, values_sql: str) -> str:
    """A CASE naming the first required field that is absent or blank, else NULL."""
    fields = _fields(table)
    whens = " ".join(
        f"when nullif(trim({values_sql}[{fields.index(f) + 1}]), '') is null then 'missing required field {f}'"
        for f in table.required_fields
    )
    return f"case {whens} end"


def _non_scalar_reason(table: RawTable, values_sql: str, json_sql: str) -> str:
    """A CASE naming the first identifier field holding a list or an object (`"email": ["a@b.com"]`), else NULL.

    Such a value would load as its JSON text and link nobody, so the record is quarantined. The extracted text
    is looked at first; the JSON is parsed again only when it starts like a list or an object.
    """
    fields = _fields(table)
    whens = " ".join(
        f"when left({values_sql}[{fields.index(f) + 1}], 1) in ('[', '{{') "
        f"and json_type({json_sql}, {_json_path(f)}) in ('ARRAY', 'OBJECT') "
        f"then 'non-scalar identifier field {f}'"
        for f in table.scalar_fields
    )
    return f"case {whens} end" if whens else "null"


def _event_id_from(table: RawTable, values_sql: str) -> str:
    """The vendor's dedup key; composite keys keep empty parts so that they stay unambiguous."""
    fields = _fields(table)
    parts = [f"coalesce({values_sql}[{fields.index(f) + 1}], '')" for f in table.event_id_fields]
    return parts[0] if len(parts) == 1 else "concat_ws('|', " + ", ".join(parts) + ")"


def _classify_jsonl(con: duckdb.DuckDBPyConnection, table: RawTable, file_sql: str, day_sql: str, lines: str) -> None:
    """Classify the lines of `lines` (_line, line, reason, and whatever `file_sql` and `day_sql` read)."""
    # One validating parse (the cast, which keeps the line's text as it is) and one extraction per line.
    con.execute(
        f"""
        insert into _partition_rows ({_STAGED_COLUMNS})
        with parsed as (
            select *, reason as line_reason, try_cast(line as json) as parsed from {lines}
        ),
        extracted as (
            select *, {_extract_all(table, "parsed")} as vals from parsed
        ),
        checked as (
            select *,
                   case when line_reason is not null then line_reason
                        when line is null or trim(line) = '' then 'empty line'
                        when vals is null then 'invalid JSON (malformed or truncated line)'
                        when not starts_with(ltrim(line), '{{') then 'not a JSON object'
                        else coalesce({_missing_field_reason(table, "vals")},
                                      {_non_scalar_reason(table, "vals", "parsed")})
                   end as checked_reason
            from extracted
        )
        -- A line is kept only where it is quarantined (raw_line): a loaded line is its record, and copying both
        -- doubled what staging holds in memory.
        select {file_sql}, _line, case when checked_reason is not null then line end as line,
               case when checked_reason is null then parsed end as record,
               case when checked_reason is null then {_event_id_from(table, "vals")} end as event_id,
               checked_reason, {day_sql}
        from checked
        """
    )


def classify_jsonl_files(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    files: list[tuple[Path, str, date]],
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> bool:
    """Append every line of these JSON-lines files (path, name in the landing zone, delivery day) to
    `_partition_rows` in one statement, or nothing and return False when a file cannot be taken that way (a line
    that is not text, a broken gzip): the caller then classifies file by file, which finds and names it.

    One statement for a table's whole range instead of one per file: the files are read in parallel, and the fixed
    cost of a statement is paid once. Line numbers are as the per-file path gives them (`files_lines_sql`).
    """
    if not files:
        return True
    con.execute("create or replace temp table _range_files (path varchar, _file varchar, _delivery_date date)")
    con.execute(
        "insert into _range_files select unnest(?), unnest(?), unnest(?)",
        [[str(path) for path, _, _ in files], [relative for _, relative, _ in files], [day for _, _, day in files]],
    )
    lines = (
        "(select f._file, f._delivery_date, l._line, l.line, null::varchar as reason "
        f"from {files_lines_sql(con, [path for path, _, _ in files], max_line_bytes)} as l "
        "inner join _range_files as f on f.path = l._path)"
    )
    try:
        _classify_jsonl(con, table, "_file", "_delivery_date", lines)
    except duckdb.Error:
        return False  # the statement failed whole: nothing was appended
    if rejected_lines(con):
        con.execute("delete from _partition_rows where _file in (select _file from _range_files)")
        return False
    return True


def _classify_csv(con: duckdb.DuckDBPyConnection, table: RawTable, path: Path, relative: str, day: date) -> None:
    parsed = csv_rows_sql(con, path)
    if parsed is None:
        return
    header, rows_sql = parsed
    # CSV values are strings in header order: the registry's fields are picked by position, no JSON parse.
    vals = (
        "["
        + ", ".join(f"fields[{header.index(f) + 1}]" if f in header else "null::varchar" for f in _fields(table))
        + "]"
    )
    con.execute(
        f"""insert into _partition_rows ({_STAGED_COLUMNS})
            with extracted as (select *, {vals} as vals from ({rows_sql})),
            checked as (select *, coalesce(reason, {_missing_field_reason(table, "vals")}) as row_reason
                        from extracted)
            -- As for JSON lines, the line is kept only where it is quarantined.
            select {_quote(relative)}, _line, case when row_reason is not null then line end, record,
                   case when row_reason is null then {_event_id_from(table, "vals")} end as event_id,
                   row_reason, {_date(day)}
            from checked"""
    )


def _classify_jsonl_file(
    con: duckdb.DuckDBPyConnection, table: RawTable, path: Path, relative: str, day: date, max_line_bytes: int
) -> None:
    # A clean file is read and classified in one statement; one with lines that are not text is done again
    # from its renumbered lines, so that no line number is off.
    try:
        _classify_jsonl(con, table, _quote(relative), _date(day), streamed_lines_sql(con, path, max_line_bytes))
    except duckdb.Error as exc:
        raise duckdb_failure(path, "cannot be read as text lines", exc) from None
    if rejected_lines(con):
        con.execute("delete from _partition_rows where _file = ?", [relative])
        read_lines(con, path, max_line_bytes)
        _classify_jsonl(con, table, _quote(relative), _date(day), "_file_lines")


def classify_file(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    path: Path,
    relative: str,
    day: date,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> None:
    """Append every line of the file, delivered on `day`, to temp table `_partition_rows` (record and event id,
    or a reason)."""
    try:
        if table.format == "jsonl":
            _classify_jsonl_file(con, table, path, relative, day, max_line_bytes)
        else:
            read_lines(con, path, max_line_bytes)
            _classify_csv(con, table, path, relative, day)
    except duckdb.Error as exc:
        raise duckdb_failure(path, "cannot be classified", exc) from None


__all__ = ["LandingFileError", "classify_file", "classify_jsonl_files", "read_lines"]
