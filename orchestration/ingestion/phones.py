"""Normalizes every distinct phone string seen in raw to E.164 with `phonenumbers`, into `raw.phone_numbers`.

Staging joins to this table instead of calling Python per row: distinct strings are few next to events,
and only strings not yet normalized for the configured region are parsed.
"""
import duckdb
import phonenumbers
import pyarrow as pa

from orchestration.ingestion.sources import RAW_TABLES

PHONE_DDL = """
create schema if not exists raw;
create table if not exists raw.phone_numbers (
    raw_phone varchar, region varchar, e164 varchar, is_valid boolean);
"""


def to_e164(raw_phone: str, region: str) -> str | None:
    """E.164 for a valid number as typed, else None (parsable but impossible numbers are not valid)."""
    try:
        parsed = phonenumbers.parse(raw_phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _seen_phones_sql(existing_tables: set[str]) -> str:
    def value(field: str) -> str:
        # A wildcard path (lead-form answers) yields a list: every element is a candidate phone.
        extract = f"json_extract_string(record, '$.{field}')"
        return f"unnest({extract})" if "[*]" in field else extract

    selects = [
        f"select {value(field)} as raw_phone from raw.{t.table} where not _is_duplicate"
        for t in RAW_TABLES if t.table in existing_tables for field in t.phone_fields
    ]
    return " union ".join(selects) if selects else "select null::varchar as raw_phone where false"


def normalize_new_phones(con: duckdb.DuckDBPyConnection, region: str) -> dict:
    """Add rows for phone strings not yet normalized for `region`; returns counts for the UI."""
    con.execute(PHONE_DDL)
    existing = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
    new = con.execute(
        f"""select distinct raw_phone from ({_seen_phones_sql(existing)})
            where raw_phone is not null and raw_phone not in
                  (select raw_phone from raw.phone_numbers where region = ?)
            order by raw_phone""",
        [region],
    ).fetchall()
    raw_values = [r[0] for r in new]
    e164 = [to_e164(v, region) for v in raw_values]
    batch = pa.table({
        "raw_phone": raw_values, "region": [region] * len(raw_values),
        "e164": pa.array(e164, pa.string()), "is_valid": [v is not None for v in e164],
    })
    con.register("_new_phones", batch)
    con.execute("insert into raw.phone_numbers select * from _new_phones")
    con.unregister("_new_phones")
    total, valid = con.execute(
        "select count(*), count(*) filter (where is_valid) from raw.phone_numbers where region = ?", [region]
    ).fetchall()[0]
    return {"new_phone_strings": len(raw_values), "phone_strings": total, "valid_phone_strings": valid}
