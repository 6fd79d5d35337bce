"""What the warehouse holds: the one place that asks DuckDB's catalog which tables a schema has."""

import duckdb


def tables_in(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The schema's table names, sorted (empty when the schema does not exist yet)."""
    return [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by table_name", [schema]
        ).fetchall()
    ]
