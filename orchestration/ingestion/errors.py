"""The errors ingestion raises: they name the file (and line), never the content of a line.

DuckDB's own error text quotes the offending line ("Original Line: ..."), and a landing line holds customers'
emails and phones; that text would end up in the terminal, Dagster's run storage, event log and compute logs.
So a DuckDB error is never passed on: only its kind and the line number it names are kept.
"""

import re
from pathlib import Path

import duckdb

_LINE_NUMBER = re.compile(r"\bline:?\s*(\d+)", re.IGNORECASE)
# Fixed descriptions for the DuckDB errors a landing file can cause; nothing of the message itself is kept.
_KNOWN_CAUSES = (
    ("gzip", "not valid gzip data (corrupt or cut short)"),
    ("zstd", "not valid zstd data (corrupt or cut short)"),
    ("invalid unicode", "invalid UTF-8"),
    ("maximum line size", "a line is too long"),
    ("no files found", "file not found"),
    ("no such file", "file not found"),
    ("sniff", "not parseable as CSV"),
)


class LandingFileError(RuntimeError):
    """A landing file or folder that breaks the contract as a whole (not one bad line); names the path."""


def duckdb_failure(path: Path | str, action: str, exc: duckdb.Error) -> LandingFileError:
    """A LandingFileError for DuckDB's failure on `path`, keeping only the error's kind and line number.

    Raise it `from None`: a chained DuckDB exception would carry the quoted line into every traceback.
    """
    message = str(exc)
    lowered = message.lower()
    cause = next((text for needle, text in _KNOWN_CAUSES if needle in lowered), type(exc).__name__)
    line = _LINE_NUMBER.search(message)
    where = f", line {line.group(1)}" if line else ""
    return LandingFileError(f"{path}{where}: {action}: {cause}")
