"""Every physical line of a landing file (gzip or not), numbered: (_line, line, reason).

DuckDB's CSV reader in line mode reads the file: fast, parallel, in file order. A line it cannot take as text
(invalid UTF-8, longer than the limit) would fail the whole file, so its rejects table collects those lines
instead; they come out with a `reason` and the lines around them keep their true numbers. A clean file is read
once, straight into its consumer's statement (`streamed_lines_sql`); only a file with such lines is read again
into temp table `_file_lines` and renumbered (`read_lines`).
"""

from pathlib import Path

import duckdb

from orchestration.ingestion.errors import LandingFileError, duckdb_failure

DEFAULT_MAX_LINE_BYTES = 2 * 1024 * 1024
# A delimiter that never occurs in text exports, so the reader hands over whole lines.
_RESERVED_DELIMITER = "chr(1) || chr(2) || chr(3) || chr(4)"
LINES_TABLE = "_file_lines"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reader_sql(path: Path | list[Path], max_line_bytes: int) -> str:
    # DuckDB rejects a line of `max_line_size` bytes or more; the limit is on lines longer than max_line_bytes.
    # Several files: each row says which file it is from.
    many = isinstance(path, list)
    target = "[" + ", ".join(_quote(str(p)) for p in path) + "], filename=true" if many else _quote(str(path))
    return (
        f"read_csv({target}, columns={{'line': 'VARCHAR'}}, header=false, "
        f"delim={_RESERVED_DELIMITER}, quote='', escape='', auto_detect=false, compression='auto', "
        f"max_line_size={max_line_bytes + 1}, store_rejects=true, "
        "rejects_table='_line_rejects', rejects_scan='_line_reject_scans')"
    )


def _reason_sql(max_line_bytes: int) -> str:
    return f"""case error_type
        when 'INVALID ENCODING' then 'invalid UTF-8'
        when 'LINE SIZE OVER MAXIMUM' then 'line longer than {max_line_bytes} bytes'
        when 'TOO MANY COLUMNS' then 'line holds the control bytes 01 02 03 04 (reserved by the line reader)'
        else 'unreadable line (' || lower(error_type) || ')' end"""


# Accepted lines come out in file order without the rejected ones: accepted row k is physical line
# k + (rejected lines before it). For the i-th rejected line r_i, r_i - i accepted lines precede it.
_RENUMBER_SQL = """
create or replace temp table _file_lines as
with rejected as (
    select line as _line, any_value(error_type) as error_type, any_value(csv_line) as csv_line
    from _line_rejects group by line
),
ranked as (
    select _line, row_number() over (order by _line) as shift from rejected
),
shifts as (
    select _line - shift as accepted_before, max(shift) as shift from ranked group by all
)
select a._line + coalesce(s.shift, 0) as _line, a.line, a.reason
from _file_lines a asof left join shifts s on a._line > s.accepted_before
union all
-- The text DuckDB shows of a line that is not UTF-8 (bad bytes as '?') helps find it; an oversize line is not kept.
select _line, case when error_type <> 'LINE SIZE OVER MAXIMUM' then csv_line end, {reason}
from rejected
"""


def streamed_lines_sql(con: duckdb.DuckDBPyConnection, path: Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> str:
    """A query of the file's lines as (_line, line, reason) to read once, in a statement of the caller's.

    The numbers are true only if `rejected_lines` is 0 afterwards; else use `read_lines`.
    """
    con.execute("drop table if exists _line_rejects; drop table if exists _line_reject_scans")
    return (
        f"(select row_number() over () as _line, line, null::varchar as reason "
        f"from {_reader_sql(path, max_line_bytes)})"
    )


def files_lines_sql(
    con: duckdb.DuckDBPyConnection, paths: list[Path], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> str:
    """A query of several files' lines as (_path, _line), read in one scan, to read once in a caller's statement.

    The reader hands over the files in the order listed and each file's lines in order, as it does for one file:
    a row's place in the whole scan, less that of its file's first row, is its line number. True only if
    `rejected_lines` is 0 afterwards.
    """
    con.execute("drop table if exists _line_rejects; drop table if exists _line_reject_scans")
    return (
        "(select filename as _path, _ordinal - min(_ordinal) over (partition by filename) + 1 as _line, line "
        f"from (select filename, row_number() over () as _ordinal, line from {_reader_sql(paths, max_line_bytes)}))"
    )


def rejected_lines(con: duckdb.DuckDBPyConnection) -> int:
    """How many lines the last read set aside."""
    return con.execute("select count(distinct line) from _line_rejects").fetchall()[0][0]


def read_lines(con: duckdb.DuckDBPyConnection, path: Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> int:
    """Fill `_file_lines` with every physical line of `path`, 1-based; returns how many lines were set aside."""
    lines = streamed_lines_sql(con, path, max_line_bytes)
    try:
        con.execute(f"create or replace temp table {LINES_TABLE} as select * from {lines}")
    except duckdb.Error as exc:
        raise duckdb_failure(path, "cannot be read as text lines", exc) from None
    rejected = rejected_lines(con)
    if rejected:
        con.execute(_RENUMBER_SQL.format(reason=_reason_sql(max_line_bytes)))
        lines, distinct, last = con.execute(
            f"select count(*), count(distinct _line), coalesce(max(_line), 0) from {LINES_TABLE}"
        ).fetchall()[0]
        if not lines == distinct == last:
            raise LandingFileError(f"{path}: its lines could not be numbered ({lines} lines, last number {last})")
    return rejected
