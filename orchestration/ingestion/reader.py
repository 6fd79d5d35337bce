"""Reads one landing file into a temp table of lines: parsed record or quarantine reason, with line numbers.

Every physical line of a file comes out exactly once, either with a JSON `record` or with a `reason`,
so the caller can prove that lines read = rows loaded + duplicates + quarantined.
"""
from pathlib import Path

import duckdb

from orchestration.ingestion.sources import RawTable

# A delimiter that never occurs in text exports, so DuckDB's CSV reader hands us whole lines.
_LINE_MODE = "columns={'line': 'VARCHAR'}, header=false, delim=chr(1), quote='', escape='', auto_detect=false"


class LandingFileError(RuntimeError):
    """A landing file that cannot be read at all (not one bad line: the whole file)."""


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _json_path(field: str) -> str:
    return _quote("$." + field)


def _fields(table: RawTable) -> list[str]:
    """Every field ingestion reads: required ones, then the event id's; extracted with one JSON parse."""
    return list(dict.fromkeys(table.required_fields + table.event_id_fields))


def _extract_all(table: RawTable, json_sql: str) -> str:
    paths = "[" + ", ".join(_json_path(f) for f in _fields(table)) + "]"
    return f"try(json_extract_string({json_sql}, {paths}))"


def _missing_field_reason(table: RawTable, values_sql: str) -> str:
    """A CASE naming the first required field that is absent or blank, else NULL."""
    fields = _fields(table)
    whens = " ".join(
        f"when nullif(trim({values_sql}[{fields.index(f) + 1}]), '') is null then 'missing required field {f}'"
        for f in table.required_fields
    )
    return f"case {whens} end"


def _event_id_from(table: RawTable, values_sql: str) -> str:
    """The vendor's dedup key; composite keys keep empty parts so that they stay unambiguous."""
    fields = _fields(table)
    parts = [f"coalesce({values_sql}[{fields.index(f) + 1}], '')" for f in table.event_id_fields]
    return parts[0] if len(parts) == 1 else "concat_ws('|', " + ", ".join(parts) + ")"


def _lines_sql(path: Path) -> str:
    return f"select row_number() over () as _line, line from read_csv({_quote(str(path))}, {_LINE_MODE}, compression='auto')"


def read_lines(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """Every physical line of a file (gzip or not) with its 1-based number, as temp table `_file_lines`."""
    try:
        con.execute(f"create or replace temp table _file_lines as {_lines_sql(path)}")
    except duckdb.Error as exc:
        raise LandingFileError(f"{path}: cannot be read as text lines: {exc}") from exc
    return "_file_lines"


def _classify_jsonl(con: duckdb.DuckDBPyConnection, table: RawTable, path: Path, relative: str) -> None:
    # One validating parse and one extraction per line; the record itself is cast only when valid.
    try:
        con.execute(
            f"""
            insert into _partition_rows
            with lines as ({_lines_sql(path)}),
            extracted as (
                select _line, line, {_extract_all(table, 'line')} as vals from lines
            ),
            checked as (
                select _line, line, vals,
                       case when line is null or trim(line) = '' then 'empty line'
                            when vals is null then 'invalid JSON (malformed or truncated line)'
                            when not starts_with(ltrim(line), '{{') then 'not a JSON object'
                            else {_missing_field_reason(table, 'vals')}
                       end as reason
                from extracted
            )
            select {_quote(relative)}, _line, line,
                   (case when reason is null then line end)::json as record,
                   case when reason is null then {_event_id_from(table, 'vals')} end as event_id,
                   reason
            from checked
            """
        )
    except duckdb.Error as exc:
        raise LandingFileError(f"{path}: cannot be read as text lines: {exc}") from exc


def _classify_csv(con: duckdb.DuckDBPyConnection, table: RawTable, path: Path, relative: str) -> None:
    """DuckDB's CSV reader parses; its rejects table names the bad lines; the rest map back in order."""
    con.execute("drop table if exists _csv_rejects; drop table if exists _csv_reject_scans")
    try:
        con.execute(
            f"""
            create or replace temp table _csv_rows as
            select row_number() over () as _row, to_json(r) as record
            from read_csv({_quote(str(path))}, header=true, all_varchar=true, delim=',', quote='"',
                          escape='"', auto_detect=true, compression='auto', store_rejects=true,
                          rejects_table='_csv_rejects', rejects_scan='_csv_reject_scans') r
            """
        )
    except duckdb.Error as exc:
        raise LandingFileError(f"{path}: cannot be parsed as CSV: {exc}") from exc
    # Good rows come out in file order; pair them with the lines that were neither header, blank nor rejected.
    con.execute(
        """
        create or replace temp table _file_rows as
        with rejected as (
            select line as _line, any_value(error_type || ': ' || error_message) as reason
            from _csv_rejects group by line
        ),
        candidates as (
            select l._line, row_number() over (order by l._line) as _row
            from _file_lines l
            where l._line > 1 and l.line is not null and trim(l.line) <> ''
              and l._line not in (select _line from rejected)
        )
        select l._line, l.line, r.record,
               case when l._line = 1 then 'header'
                    when l.line is null or trim(l.line) = '' then 'empty line'
                    when rj.reason is not null then 'malformed CSV row: ' || rj.reason
               end as reason
        from _file_lines l
        left join rejected rj using (_line)
        left join candidates c using (_line)
        left join _csv_rows r on r._row = c._row
        """
    )
    unmatched = con.execute(
        "select (select count(*) from _csv_rows) - (select count(*) from _file_rows where record is not null)"
    ).fetchall()[0][0]
    if unmatched:
        raise LandingFileError(
            f"{path}: {unmatched} parsed CSV rows could not be matched to lines "
            "(records spanning several lines are not supported in landing CSVs)"
        )
    con.execute(
        f"""insert into _partition_rows
            with extracted as (select *, {_extract_all(table, 'record')} as vals from _file_rows)
            select {_quote(relative)}, _line, line, record,
                   case when reason is null and record is not null then {_event_id_from(table, 'vals')} end as event_id,
                   coalesce(reason, case when record is not null then {_missing_field_reason(table, 'vals')} end) as reason
            from extracted where reason is distinct from 'header'"""
    )


def classify_file(con: duckdb.DuckDBPyConnection, table: RawTable, path: Path, relative: str) -> None:
    """Append every line of the file to temp table `_partition_rows` (record and event id, or a reason)."""
    if table.format == "jsonl":
        _classify_jsonl(con, table, path, relative)
    else:
        read_lines(con, path)
        _classify_csv(con, table, path, relative)
