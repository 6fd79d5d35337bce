"""Normalizes every distinct phone string seen in raw to E.164 with `phonenumbers`, into `raw.phone_numbers`.

Staging joins to this table instead of calling Python per row: distinct strings are few next to events,
and only strings not yet normalized for the configured region are parsed.
"""

import duckdb
import pyarrow as pa

from orchestration.identifiers import to_e164
from orchestration.ingestion.sources import raw_field_values_sql
from orchestration.warehouse import tables_in

PHONE_DDL = """
create schema if not exists raw;
create table if not exists raw.phone_numbers (
    raw_phone varchar, region varchar, e164 varchar, is_valid boolean);
"""


def normalize_new_phones(con: duckdb.DuckDBPyConnection, region: str) -> dict:
    """Add rows for phone strings not yet normalized for `region`; returns counts for the UI."""
    con.execute(PHONE_DDL)
    seen = raw_field_values_sql(tables_in(con, "raw"), lambda t: t.phone_fields)
    new = con.execute(
        f"""select distinct value as raw_phone from ({seen})
            where value is not null and value not in
                  (select raw_phone from raw.phone_numbers where region = ?)
            order by raw_phone""",
        [region],
    ).fetchall()
    raw_values = [r[0] for r in new]
    e164 = [to_e164(v, region) for v in raw_values]
    batch = pa.table(
        {
            "raw_phone": raw_values,
            "region": [region] * len(raw_values),
            "e164": pa.array(e164, pa.string()),
            "is_valid": [v is not None for v in e164],
        }
    )
    con.register("_new_phones", batch)
    con.execute("insert into raw.phone_numbers select * from _new_phones")
    con.unregister("_new_phones")
    total, valid = con.execute(
        "select count(*), count(*) filter (where is_valid) from raw.phone_numbers where region = ?", [region]
    ).fetchall()[0]
    return {"new_phone_strings": len(raw_values), "phone_strings": total, "valid_phone_strings": valid}
