#!/usr/bin/env python3
"""Are two warehouses' tables identical? `except all` both ways and the same column types, per table.

Usage: compare_warehouses.py BEFORE.duckdb AFTER.duckdb [--schemas marts,intermediate] [--ignore-columns _loaded_at]
       [--digits 9]
A refactoring that must not change what the pipeline computes proves it with this on one simulated world built
before and after. Exits 1 if any table differs, is missing on one side, or changes a column's type.
"""

import argparse
import sys

import duckdb


def _columns(con, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()


def compare(before: str, after: str, schemas: list[str], ignore: set[str], digits: int | None = None) -> list[str]:
    """Each table's differences; with `digits`, floating-point columns are compared rounded to that many decimals
    (DuckDB's parallel sums of doubles differ in the last bits with the order rows are read in)."""
    con = duckdb.connect()
    con.execute(f"attach '{before}' as b (read_only)")
    con.execute(f"attach '{after}' as a (read_only)")
    problems = []
    for schema in schemas:
        tables = {
            cat: {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_catalog = ? and table_schema = ?",
                    [cat, schema],
                ).fetchall()
            }
            for cat in ("b", "a")
        }
        for missing in sorted(tables["b"] ^ tables["a"]):
            problems.append(f"{schema}.{missing}: only in {'before' if missing in tables['b'] else 'after'}")
        for table in sorted(tables["b"] & tables["a"]):
            cols_b, cols_a = _columns(con, "b", schema, table), _columns(con, "a", schema, table)
            if sorted(cols_b) != sorted(cols_a):
                problems.append(f"{schema}.{table}: columns differ: {sorted(set(cols_b) ^ set(cols_a))}")
                continue
            names = ", ".join(
                f'round("{c}", {digits})' if digits is not None and kind in ("DOUBLE", "FLOAT") else f'"{c}"'
                for c, kind in cols_b
                if c not in ignore
            )
            only_b = con.execute(
                f"select count(*) from (select {names} from b.{schema}.{table} "
                f"except all select {names} from a.{schema}.{table})"
            ).fetchall()[0][0]
            only_a = con.execute(
                f"select count(*) from (select {names} from a.{schema}.{table} "
                f"except all select {names} from b.{schema}.{table})"
            ).fetchall()[0][0]
            rows = con.execute(f"select count(*) from b.{schema}.{table}").fetchall()[0][0]
            status = (
                "identical" if not (only_b or only_a) else f"DIFFERS: {only_b} rows only before, {only_a} only after"
            )
            print(f"{schema}.{table}: {rows} rows, {status}")
            if only_b or only_a:
                problems.append(f"{schema}.{table}: {only_b} rows only before, {only_a} only after")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--schemas", default="marts")
    parser.add_argument("--ignore-columns", default="", help="comma-separated, e.g. _loaded_at")
    parser.add_argument("--digits", type=int, help="compare floating-point columns rounded to this many decimals")
    args = parser.parse_args()
    problems = compare(
        args.before, args.after, args.schemas.split(","), {c for c in args.ignore_columns.split(",") if c}, args.digits
    )
    for problem in problems:
        print(problem)
    print("identical" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
