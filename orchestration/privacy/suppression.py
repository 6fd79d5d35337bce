"""The suppression list of `omnichannel forget`: salted hashes of every identifier of an erased person.

It holds no identifier in the clear. A line is suppressed when any token in it (an email, an id, a cookie),
or any phone field as typed, hashes to a listed value; the loader quarantines such lines with no text kept,
so a replay of old files or a rebuild never brings the person back.
"""
import duckdb

from orchestration import settings
from orchestration.identifiers import NORMALIZE_EMAIL_SQL
from orchestration.privacy.salt import publish_salt
from orchestration.warehouse import tables_in

SUPPRESSION_DDL = """
create schema if not exists raw;
create table if not exists raw.identity_suppressions (identifier_hash varchar, suppressed_at timestamp);
"""
SUPPRESSED_REASON = "suppressed: erased on request (omnichannel forget)"
# Tokens of a line: anything between JSON/CSV punctuation and spaces.
_TOKEN_PATTERN = r"[^\s\",:{}\[\]]+"


def salt() -> str:
    # The publication salt when there is one; hashing is on for suppression even when publishing is in clear.
    return publish_salt(settings.home_dir()) or "omnichannel-suppression"


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def hash_sql(expr: str, salt_value: str) -> str:
    """SQL for the hash an identifier value is listed under: case-insensitive, emails without +tags."""
    return f"sha256({_quoted(salt_value)} || {NORMALIZE_EMAIL_SQL.format(expr=expr)})"


def is_listed_sql(expr: str, salt_value: str) -> str:
    """A predicate: the identifier value `expr` is on the suppression list."""
    return f"{hash_sql(expr, salt_value)} in (select identifier_hash from raw.identity_suppressions)"


def has_suppressions(con: duckdb.DuckDBPyConnection) -> bool:
    # Only `forget` creates the list: loading a partition must not add an empty table to raw.
    if "identity_suppressions" not in tables_in(con, "raw"):
        return False
    return con.execute("select count(*) from raw.identity_suppressions").fetchall()[0][0] > 0


def add(con: duckdb.DuckDBPyConnection, values: list[str]) -> int:
    """List these identifier values (emails, phones as typed and in E.164, ids); returns how many are new."""
    con.execute(SUPPRESSION_DDL)
    s = salt()
    before = con.execute("select count(*) from raw.identity_suppressions").fetchall()[0][0]
    con.execute("create or replace temp table _forget_values (value varchar)")
    con.executemany("insert into _forget_values values (?)", [[v] for v in values if v and v.strip()])
    con.execute(
        f"""insert into raw.identity_suppressions
            select distinct {hash_sql('value', s)}, current_timestamp from _forget_values
            where not {is_listed_sql('value', s)}""")
    return con.execute("select count(*) from raw.identity_suppressions").fetchall()[0][0] - before


def _as_list(record_expr: str, field: str) -> str:
    extract = f"json_extract_string({record_expr}, {_quoted('$.' + field)})"
    return extract if "[*]" in field else f"[{extract}]"


def matches_sql(text_expr: str, record_expr: str | None, table, salt_value: str) -> str:
    """A predicate: the row's text holds a suppressed token, or one of its phone fields as typed is suppressed."""
    listed = "(select list(identifier_hash) from raw.identity_suppressions)"
    token_hit = (f"list_has_any(list_transform(regexp_extract_all({text_expr}, '{_TOKEN_PATTERN}'), "
                 f"lambda t: {hash_sql('t', salt_value)}), {listed})")
    if record_expr is None or table is None:
        return token_hit
    phone_hits = [f"list_has_any(list_transform({_as_list(record_expr, field)}, lambda v: {hash_sql('v', salt_value)}), "
                  f"{listed})" for field in table.phone_fields]
    return "(" + " or ".join([token_hit, *phone_hits]) + ")"


def suppress_staged_rows(con: duckdb.DuckDBPyConnection, table) -> int:
    """Quarantine the staged lines of an erased person, keeping no text; returns how many."""
    if not has_suppressions(con):
        return 0
    predicate = matches_sql("coalesce(line, cast(record as varchar))", "record", table, salt())
    return con.execute(f"""update _partition_rows set reason = '{SUPPRESSED_REASON}', line = null, record = null,
                           event_id = null where {predicate}""").fetchall()[0][0]
