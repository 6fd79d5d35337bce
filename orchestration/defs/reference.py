"""Reference data derived from raw with Python libraries, which staging joins instead of calling Python per row."""

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, PhoneNumbering, Warehouse
from orchestration.ingestion.emails import verify_new_emails
from orchestration.ingestion.phones import normalize_new_phones
from orchestration.ingestion.sources import RAW_TABLES
from orchestration.reporting.previews import row_count


@dg.asset(
    key=["raw", "phone_numbers"],
    deps=[dg.AssetKey(["raw", t.table]) for t in RAW_TABLES if t.phone_fields],
    group_name="reference",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "python"},
)
def phone_numbers(warehouse: Warehouse, phones: PhoneNumbering):
    """Every distinct phone string seen in raw, normalized to E.164 by `phonenumbers` for the default region."""
    with warehouse.get_connection() as con:
        counts = normalize_new_phones(con, phones.default_region)
        rows = row_count(con, "raw", "phone_numbers")
    return dg.MaterializeResult(metadata={**counts, "dagster/row_count": rows})


@dg.asset(
    key=["raw", "email_addresses"],
    deps=[dg.AssetKey(["raw", t.table]) for t in RAW_TABLES if t.email_fields],
    group_name="reference",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "python"},
)
def email_addresses(warehouse: Warehouse):
    """Every distinct normalized email seen in raw, verified offline: valid, role, disposable, typo or invalid."""
    with warehouse.get_connection() as con:
        counts = verify_new_emails(con)
        rows = row_count(con, "raw", "email_addresses")
    return dg.MaterializeResult(metadata={**counts, "dagster/row_count": rows})
