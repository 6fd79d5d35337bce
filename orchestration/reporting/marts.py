"""Read-only access to the marts a report draws: which tables and columns a release holds, and queries on them."""

from dataclasses import dataclass, field

import duckdb
import pandas as pd


@dataclass
class Marts:
    """The `schema` tables of an open DuckDB connection (the published file, or the working warehouse)."""

    con: duckdb.DuckDBPyConnection
    schema: str = "marts"
    _columns: dict[str, set[str]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for table, column in self.con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = ?", [self.schema]
        ).fetchall():
            self._columns.setdefault(table, set()).add(column)

    def has(self, table: str, *columns: str) -> bool:
        """Is the table published, with every one of these columns?"""
        return table in self._columns and set(columns) <= self._columns[table]

    def columns(self, table: str) -> set[str]:
        return self._columns.get(table, set())

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """`sql` with `{schema}` standing for the marts' schema."""
        return self.con.execute(sql.format(schema=self.schema), params or []).df()
