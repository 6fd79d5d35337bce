"""Which published columns hold personal identifiers, how they are hashed, and a scan that proves none leaked."""

import re

import duckdb

# Exact names and suffixes of columns that carry a person's identifiers or name in any mart.
_PII_NAMES = {
    "email",
    "phone",
    "identifier_value",
    "first_name",
    "last_name",
    "birth_date",
    "handle",
    "anonymous_id",
    "device_id",
    "player_id",
    "ip",
    "loyalty_id",
    "click_id",
    "order_email",
}
_PII_SUFFIXES = ("_email", "_phone", "_handle")
_EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_PHONE_PATTERN = r"^\+[1-9][0-9]{7,14}$"


def is_pii_column(name: str) -> bool:
    lowered = name.lower()
    return lowered in _PII_NAMES or lowered.endswith(_PII_SUFFIXES)


_IDENTIFYING_PARTS = ("email", "phone", "customer_id", "user_id", "identifier_value", "handle", "loyalty")


def may_identify(column: str | None, examples: list) -> bool:
    """Could these examples of a column name a person? Then they stay out of Dagster's event log, which
    `forget` cannot scrub: a column of identifiers (as typed too: `email_raw`), or any value holding something
    shaped like an email or an E.164 phone."""
    if column is not None and (is_pii_column(column) or any(p in column.lower() for p in _IDENTIFYING_PARTS)):
        return True
    return any(
        isinstance(v, str) and (re.search(_EMAIL_PATTERN, v) or re.search(r"\+[1-9][0-9]{7,14}", v)) for v in examples
    )


def _hash_sql(column: str, salt: str) -> str:
    quoted_salt = salt.replace("'", "''")
    return f'case when "{column}" is null then null else sha256(\'{quoted_salt}\' || cast("{column}" as varchar)) end'


def hashed_select(con: duckdb.DuckDBPyConnection, schema: str, table: str, salt: str | None) -> str:
    """A SELECT of the table with every PII column replaced by its salted SHA-256 (or as is, without salt)."""
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]
    parts = [f'{_hash_sql(c, salt)} as "{c}"' if salt is not None and is_pii_column(c) else f'"{c}"' for c in columns]
    return f"select {', '.join(parts)} from {schema}.{table}"


def leaked_identifier_columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> list[str]:
    """Every text column, in every table, that still holds something shaped like an email or E.164 phone."""
    columns = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ?",
        [catalog, schema],
    ).fetchall()
    leaks = []
    for table, column, data_type in columns:
        if not re.match(r"^(VARCHAR|JSON|VARCHAR\[\])$", data_type):
            continue
        value = f'cast("{column}" as varchar)'
        hit = con.execute(
            f"select 1 from {catalog}.{schema}.{table} where regexp_matches({value}, '{_EMAIL_PATTERN}') "
            f"or regexp_matches({value}, '{_PHONE_PATTERN}') limit 1"
        ).fetchall()
        if hit:
            leaks.append(f"{table}.{column}")
    return leaks
