"""Landing CSVs parsed in SQL from their physical lines (`_file_lines`), so each row keeps its true line number.

DuckDB's CSV reader cannot say which line a row came from: it numbers records, not lines (after a quoted line
break every later number is off), and a dialect it fails to sniff loses the whole file. So the lines already read
are split here with RFC 4180 patterns in vectorized SQL: a plain split on commas, regular expressions only for
lines with a field that starts with a quote.

A record whose quoted field holds a line break spans several physical lines. It is quarantined, every one of
its lines with the same reason naming the span; the rest of the file loads on its own line numbers. Like
DuckDB's reader, a quote inside an unquoted field (`R"2`) is kept as text; a quoted field followed by anything
but a comma or the end of the line (`"R2"x`) makes the row malformed.
"""

from pathlib import Path

import duckdb

from orchestration.ingestion.errors import LandingFileError

_QUOTED = '"(?:[^"]|"")*"'
_UNQUOTED = '(?:[^,"][^,]*)?'
_FIELD = f"(?:{_QUOTED}|{_UNQUOTED})"
_OPEN_TAIL = '"(?:[^"]|"")*$'  # a quoted field still open at the end of the line
COMPLETE = f"^{_FIELD}(?:,{_FIELD})*$"
# Read from outside any quotes, the line ends inside a quoted field.
OPENS = f"^(?:{_FIELD},)*{_OPEN_TAIL}"
# Read from inside a quoted field, the line ends inside one (the same, or a new one after the first closes).
STAYS_OPEN = f'^(?:[^"]|"")*(?:"(?:,{_FIELD})*,{_OPEN_TAIL})?$'
_EXTRACT = f",(?:{_QUOTED}|[^,]*)"  # each field with the comma before it: no empty matches

# Only a field that starts with a quote can hold a comma or a line break; other lines split on commas.
_QUOTED_FIELD_SQL = """(starts_with(line, '"') or contains(line, ',"'))"""
_FIELDS_SQL = f"""case when line is null then null
    when not {_QUOTED_FIELD_SQL} then string_split(line, ',')
    when regexp_matches(line, '{COMPLETE}') then list_transform(
        regexp_extract_all(',' || line, '{_EXTRACT}'),
        lambda f: case when starts_with(f, ',"') then replace(substr(f, 3, length(f) - 3), '""', '"')
                       else substr(f, 2) end)
    end"""

_OPENS_SQL = f"""coalesce(reason is null and {_QUOTED_FIELD_SQL} and regexp_matches(line, '{OPENS}'), false)"""
_STAYS_OPEN_SQL = f"""case when reason is not null then false
    when line is null or not contains(line, '"') then true
    else regexp_matches(line, '{STAYS_OPEN}') end"""


def _span(start: str, end: str) -> str:
    return f"case when {start} = {end} then 'line ' || {start} else 'lines ' || {start} || '-' || {end} end"


# Which record each line belongs to. A line moves the reader's state (outside / inside a quoted field) in one of
# four ways: keeps it, sets it outside, sets it inside, or flips it. The state after a line is the value set by
# the last line that sets one (outside at the start of the file), flipped once per flipping line since.
_SEGMENT_SQL = f"""
create or replace temp table _csv_lines as
with moves as (
    select _line, line, reason, {_OPENS_SQL} as opens, {_STAYS_OPEN_SQL} as stays_open from _file_lines
),
grouped as (
    select *, sum((opens = stays_open)::int) over (order by _line) as last_set from moves
),
states as (
    select *, (coalesce(first_value(case when opens = stays_open then opens::int end) over w, 0)
               + sum((opens and not stays_open)::int) over w) % 2 = 1 as open_after
    from grouped window w as (partition by last_set order by _line)
),
starts as (
    select *, not coalesce(lag(open_after) over (order by _line), false) as starts_record from states
),
records as (
    select *, max(case when starts_record then _line end) over (order by _line) as record_start from starts
),
spans as (
    select *, count(*) over r as record_lines, max(_line) over r as record_end,
           arg_max(open_after, _line) over r as ends_open
    from records window r as (partition by record_start)
)
select _line, line, coalesce(
    reason,
    case when ends_open then 'unterminated quoted field (' || {_span("record_start", "record_end")}
                             || ', to the end of the file)'
         when record_lines > 1 then 'multi-line CSV record (' || {_span("record_start", "record_end")}
                                    || '): a quoted field holds a line break'
    end) as reason
from spans
"""


def _header(con: duckdb.DuckDBPyConnection, path: Path, lines: str) -> list[str] | None:
    row = con.execute(f"select reason, {_FIELDS_SQL} from {lines} where _line = 1").fetchall()
    if not row:
        return None  # an empty file: no header, no rows
    reason, names = row[0]
    problem = (
        reason
        or ("a misplaced quote" if names is None else None)
        or ("an empty column name" if any(not n for n in names) else None)
        # DuckDB's struct keys are case-insensitive, as are most readers' column names.
        or ("a repeated column name" if len({n.lower() for n in names}) < len(names) else None)
    )
    if problem:
        raise LandingFileError(f"{path}, line 1: not a usable CSV header ({problem})")
    return names


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def csv_rows_sql(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[str], str] | None:
    """The header and a query of every line after it from `_file_lines`: (_line, line, fields, record, reason).

    `fields` holds the row's values in header order, `record` the row as a JSON object keyed by the header (empty
    values as null, as DuckDB's reader makes them), or `reason` says why the line is quarantined. None for an
    empty file.
    """
    multi_line = con.execute(f"select coalesce(bool_or({_OPENS_SQL}), false) from _file_lines").fetchall()[0][0]
    if multi_line:
        con.execute(_SEGMENT_SQL)
    # Without a line that opens a quoted field it does not close, every line is a record of its own.
    lines = "_csv_lines" if multi_line else "_file_lines"
    header = _header(con, path, lines)
    if header is None:
        return None
    width = len(header)
    record = "{" + ", ".join(f"{_literal(n)}: nullif(fields[{i + 1}], '')" for i, n in enumerate(header)) + "}"
    return (
        header,
        f"""
        with parsed as (
            select _line, line, reason, {_FIELDS_SQL} as fields from {lines} where _line > 1
        ),
        checked as (
            select _line, line, fields, coalesce(reason, case
                when line is null or trim(line) = '' then 'empty line'
                when fields is null then 'malformed CSV row: misplaced quote (a quoted field must end at a comma)'
                when len(fields) < {width} then
                    'malformed CSV row: MISSING COLUMNS: expected {width} fields, found ' || len(fields)
                when len(fields) > {width} then
                    'malformed CSV row: TOO MANY COLUMNS: expected {width} fields, found ' || len(fields)
            end) as reason
            from parsed
        )
        select _line, line, fields, case when reason is null then to_json({record}) end::json as record, reason
        from checked""",
    )
