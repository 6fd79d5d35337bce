"""Erasure in the files themselves: a DuckDB database rewritten into a fresh file, so no freed block keeps old bytes.

DuckDB does not overwrite what it frees: after a DELETE, and after dbt replaces a table, the old rows stay in the
file's free blocks until a block happens to be reused, readable with `strings`. `rewrite_database` copies the live
catalog (schemas, tables, views, macros, sequences) into a new file with `COPY FROM DATABASE` and swaps it in with
one rename; the old file, free blocks and all, is unlinked.
"""

import os
from pathlib import Path

import duckdb

REWRITE_ALIAS = "_rewritten"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def rewrite_database(path: Path, config: dict | None = None) -> dict:
    """Rewrite the database at `path` into a fresh file and swap it in; returns the sizes before and after.

    Needs the write lock, like any writer: nothing else may have the file open. Both files are checkpointed and
    closed before the swap, so no write-ahead log is left that would replay old pages into the new file.
    """
    path = Path(path)
    fresh = path.with_name(path.name + ".rewrite")
    for leftover in (fresh, _wal(fresh)):
        leftover.unlink(missing_ok=True)
    before = path.stat().st_size
    with duckdb.connect(str(path), config=config or {}) as con:
        catalog = con.execute("select current_database()").fetchall()[0][0]
        con.execute(f"attach {_quoted(str(fresh))} as {REWRITE_ALIAS}")
        try:
            con.execute(f'copy from database "{catalog}" to {REWRITE_ALIAS}')
        finally:
            con.execute(f"detach {REWRITE_ALIAS}")
        con.execute("checkpoint")
    for wal in (_wal(path), _wal(fresh)):
        if wal.exists():
            fresh.unlink(missing_ok=True)
            raise RuntimeError(f"{wal} is left after closing: another process has the database open; not swapped")
    os.replace(fresh, path)
    return {"bytes_before": before, "bytes_after": path.stat().st_size}
