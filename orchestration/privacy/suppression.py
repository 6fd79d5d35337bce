"""The suppression list of `omnichannel forget`: salted hashes of every identifier of an erased person.

It holds no identifier in the clear. A record is suppressed when one of its person fields (the registry's
email, phone and identifier fields: an email, a phone as typed, a CRM or loyalty id, a cookie, a device, a
handle) hashes to a listed value; a line too broken to parse is suppressed when any token of it does. The
loader quarantines such lines with no text kept, so a replay of old files or a rebuild never brings the person
back.
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
# The listed hashes, as a list for `list_has_any`.
LISTED_SQL = "(select list(identifier_hash) from raw.identity_suppressions)"
# The hashes `stage` put aside: what a forget would list, before anything is written.
CANDIDATES_SQL = "(select list(identifier_hash) from _forget_candidates)"
# Tokens of an unreadable line: anything between JSON/CSV punctuation and spaces.
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


def stage(con: duckdb.DuckDBPyConnection, values: list[str]) -> int:
    """Hash these identifier values into temp table `_forget_candidates` (nothing is written to the warehouse),
    so that `matches_sql(..., listed=CANDIDATES_SQL)` counts what listing them would erase; returns how many."""
    s = salt()
    con.execute("create or replace temp table _forget_values (value varchar)")
    con.executemany("insert into _forget_values values (?)", [[v] for v in values if v and v.strip()])
    con.execute(f"""create or replace temp table _forget_candidates as
                    select distinct {hash_sql("value", s)} as identifier_hash from _forget_values
                    where {hash_sql("value", s)} is not null""")
    return con.execute("select count(*) from _forget_candidates").fetchall()[0][0]


def add(con: duckdb.DuckDBPyConnection, values: list[str]) -> int:
    """List these identifier values (emails, phones as typed and in E.164, ids); returns how many are new."""
    stage(con, values)
    con.execute(SUPPRESSION_DDL)
    return con.execute(
        """insert into raw.identity_suppressions
           select identifier_hash, current_timestamp from _forget_candidates
           where identifier_hash not in (select identifier_hash from raw.identity_suppressions)"""
    ).fetchall()[0][0]


def _field_values_sql(record_expr: str, table) -> str:
    """Every value at the table's person fields of a record, as one list (a wildcard path adds all its elements)."""
    parts = []
    for path in table.person_fields:
        extract = f"json_extract_string({record_expr}, {_quoted('$.' + path)})"
        parts.append(extract if "[*]" in path else f"[{extract}]")
    return f"flatten([{', '.join(parts)}])" if parts else "[]::varchar[]"


def record_of_line_sql(line_expr: str, table) -> str:
    """The JSON object a landing line holds, or NULL: a CSV line means nothing without its header."""
    if table.format != "jsonl":
        return "null::json"
    return f"(case when json_type(try_cast({line_expr} as json)) = 'OBJECT' then try_cast({line_expr} as json) end)"


def matches_sql(record_expr: str, text_expr: str, table, salt_value: str, listed: str = LISTED_SQL) -> str:
    """A predicate: a parsed record holds a listed value in one of the table's person fields; a line that cannot
    be parsed (no record: malformed, truncated) holds a listed token, since no field of it can be read.

    Field matching is what keeps a forget to one person: a token such as a currency code or a city, which many
    records hold in other fields, names no one. The token scan only ever reaches lines already quarantined as
    unreadable; there it errs towards erasing, and listed values are validated identifiers (emails, E.164 and
    typed phones, ids of 7 characters or more), which ordinary tokens do not collide with.
    """
    field_hit = (
        f"list_has_any(list_transform({_field_values_sql(record_expr, table)}, "
        f"lambda v: {hash_sql('v', salt_value)}), {listed})"
    )
    token_hit = (
        f"list_has_any(list_transform(regexp_extract_all({text_expr}, '{_TOKEN_PATTERN}'), "
        f"lambda t: {hash_sql('t', salt_value)}), {listed})"
    )
    return f"coalesce(case when {record_expr} is not null then {field_hit} else {token_hit} end, false)"


def suppress_staged_rows(con: duckdb.DuckDBPyConnection, table) -> int:
    """Quarantine the staged lines of an erased person, keeping no text; returns how many."""
    if not has_suppressions(con):
        return 0
    record = f"coalesce(record, {record_of_line_sql('line', table)})"
    predicate = matches_sql(record, "line", table, salt())
    return con.execute(f"""update _partition_rows set reason = '{SUPPRESSED_REASON}', line = null, record = null,
                           event_id = null where {predicate}""").fetchall()[0][0]
