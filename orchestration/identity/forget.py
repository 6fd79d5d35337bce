"""`omnichannel forget`: erase one person from every table, raw and quarantine included, and keep them out.

`erasure_plan` validates the request, finds the one customer it names and counts what would go; `erase` then
lists that customer's own identifiers as salted hashes and erases the records that hold one in a person field
(the source registry's email, phone and identifier fields), not every line that happens to contain the string.
Raw records move to quarantine as "suppressed" with no text kept, so lines read still reconcile; what they counted
toward the sources' daily totals is tallied in `raw.erased_daily_totals`, so the sync check accounts for them;
quarantined lines lose their text; reference tables drop the strings. The caller then rebuilds the models,
republishes, and rewrites the warehouse file (`orchestration.privacy.files`), so no freed block keeps the bytes.
"""

import duckdb

from orchestration import settings
from orchestration.identity import erased_totals
from orchestration.identity.erasure_plan import ErasurePlan, find_person, parse_request, plan_erasure
from orchestration.ingestion.loader import recount_ingest_log
from orchestration.ingestion.sources import RAW_TABLES
from orchestration.privacy import suppression
from orchestration.warehouse import tables_in


def plan_for(
    con: duckdb.DuckDBPyConnection,
    *,
    email: str | None = None,
    phone: str | None = None,
    customer_id: str | None = None,
) -> ErasurePlan:
    """Validate the request, find the one person it names and plan their erasure; raises ForgetRefused."""
    request = parse_request(email=email, phone=phone, customer_id=customer_id, region=settings.phone_region())
    return plan_erasure(con, find_person(con, request))


def forget(
    con: duckdb.DuckDBPyConnection,
    *,
    email: str | None = None,
    phone: str | None = None,
    customer_id: str | None = None,
) -> dict:
    """Plan and erase in one call (the command line asks for confirmation in between)."""
    return erase(con, plan_for(con, email=email, phone=phone, customer_id=customer_id))


def erase(con: duckdb.DuckDBPyConnection, plan: ErasurePlan) -> dict:
    """Erase the planned person from raw, quarantine and reference tables in one transaction; returns counts."""
    customers = [plan.person.customer_id]
    raw_tables = tables_in(con, "raw")
    salt = suppression.salt()
    reason = suppression.SUPPRESSED_REASON
    moved = 0
    con.execute("begin transaction")
    try:
        listed = suppression.add(con, list(plan.values))
        erased_totals.start(con)
        for table in RAW_TABLES:
            if table.table not in raw_tables:
                continue
            # Matching every record is the costly part: match once, then move the noted lines.
            erased_totals.note(con, table.table, suppression.matches_sql("record", "null::varchar", table, salt))
            noted = erased_totals.NOTED_SQL
            moved += con.execute(
                f"""insert into raw.quarantine
                    select ?, ?, _file, _line, _delivery_date, ?, null, current_timestamp
                    from raw.{table.table} as r where {noted}""",
                [table.source, table.table, reason],
            ).fetchall()[0][0]
            con.execute(f"delete from raw.{table.table} as r where {noted}")
            recount_ingest_log(con, table)
        _, tallied = erased_totals.record(con)
        scrubbed = 0
        if "quarantine" in raw_tables:
            for table in RAW_TABLES:
                line_hit = suppression.matches_sql(
                    suppression.record_of_line_sql("raw_line", table), "raw_line", table, salt
                )
                scrubbed += con.execute(
                    f"""update raw.quarantine set raw_line = null, reason = ?
                        where table_name = ? and raw_line is not null and {line_hit}""",
                    [reason, table.table],
                ).fetchall()[0][0]
        if "email_addresses" in raw_tables:
            con.execute(f"delete from raw.email_addresses where {suppression.is_listed_sql('email', salt)}")
        if "phone_numbers" in raw_tables:
            con.execute(f"""delete from raw.phone_numbers where {suppression.is_listed_sql("raw_phone", salt)}
                            or {suppression.is_listed_sql("e164", salt)}""")
        if "customer_id_history" in tables_in(con, "marts"):
            con.execute(
                """delete from marts.customer_id_history
                           where list_contains(?, old_customer_id) or list_contains(?, new_customer_id)""",
                [customers, customers],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return {
        "customers": customers,
        "identifiers_listed": listed,
        "raw_rows_quarantined": moved,
        "staged_rows_tallied": tallied,
        "quarantine_lines_scrubbed": scrubbed,
    }
