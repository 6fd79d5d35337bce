"""`omnichannel forget`: erase a person from every table, raw and quarantine included, and keep them out.

The person is found through `customer_identifier` (by email, phone or customer id), and every identifier
of theirs goes on the suppression list as a salted hash. Raw rows that mention any of them move to
quarantine as "suppressed" with no text kept, so lines read still reconcile; what they counted toward the
sources' daily totals is tallied in `raw.erased_daily_totals`, so the sync check accounts for them; quarantined
lines lose their text; reference tables drop the strings. The caller then rebuilds the models and republishes.
"""
import duckdb

from orchestration import settings
from orchestration.identity import erased_totals
from orchestration.privacy import suppression
from orchestration.identifiers import normalize_email
from orchestration.ingestion.loader import recount_ingest_log
from orchestration.ingestion.phones import to_e164
from orchestration.ingestion.sources import RAW_TABLES
from orchestration.warehouse import tables_in


def find_customers(con: duckdb.DuckDBPyConnection, *, email: str | None = None, phone: str | None = None,
                   customer_id: str | None = None) -> tuple[list[str], list[str]]:
    """(customer ids, identifier values) of the person named by any of the arguments."""
    given: list[tuple[str, str]] = []
    if email:
        given.append(("email", normalize_email(email)))
    if phone:
        given.append(("phone", to_e164(phone, settings.phone_region()) or phone.strip()))
    customers = {customer_id} if customer_id else set()
    if "customer_identifier" in tables_in(con, "marts"):
        for kind, value in given:
            customers |= {r[0] for r in con.execute(
                "select customer_id from marts.customer_identifier where identifier_type = ? and identifier_value = ?",
                [kind, value]).fetchall()}
        values = {r[0] for r in con.execute(
            "select identifier_value from marts.customer_identifier where list_contains(?, customer_id)",
            [sorted(customers)]).fetchall()}
    else:
        values = set()
    values |= {value for _, value in given}
    return sorted(customers), sorted(values)


def forget(con: duckdb.DuckDBPyConnection, *, email: str | None = None, phone: str | None = None,
           customer_id: str | None = None) -> dict:
    """Erase the person from raw, quarantine and reference tables; returns what was done, in counts."""
    customers, values = find_customers(con, email=email, phone=phone, customer_id=customer_id)
    if not values and not customers:
        raise LookupError("no such person: give an email, phone or customer id that the warehouse holds")
    raw_tables = tables_in(con, "raw")
    if "phone_numbers" in raw_tables:
        # Every way the numbers were typed, so replays of the same files match them.
        values += [r[0] for r in con.execute(
            "select raw_phone from raw.phone_numbers where list_contains(?, e164)", [values]).fetchall()]
    listed = suppression.add(con, values)
    salt = suppression.salt()
    reason = suppression.SUPPRESSED_REASON
    moved = 0
    con.execute("begin transaction")
    try:
        erased_totals.start(con)
        for table in RAW_TABLES:
            if table.table not in raw_tables:
                continue
            # Matching every record is the costly part: match once, then move the noted lines.
            erased_totals.note(con, table.table, suppression.matches_sql("cast(record as varchar)", "record", table, salt))
            noted = erased_totals.NOTED_SQL
            moved += con.execute(
                f"""insert into raw.quarantine
                    select ?, ?, _file, _line, _delivery_date, ?, null, current_timestamp
                    from raw.{table.table} as r where {noted}""", [table.source, table.table, reason]).fetchall()[0][0]
            con.execute(f"delete from raw.{table.table} as r where {noted}")
            recount_ingest_log(con, table)
        _, tallied = erased_totals.record(con)
        scrubbed = 0
        if "quarantine" in raw_tables:
            line_hit = suppression.matches_sql("raw_line", None, None, salt)
            scrubbed = con.execute(
                f"update raw.quarantine set raw_line = null, reason = ? where raw_line is not null and {line_hit}",
                [reason]).fetchall()[0][0]
        if "email_addresses" in raw_tables:
            con.execute(f"delete from raw.email_addresses where {suppression.is_listed_sql('email', salt)}")
        if "phone_numbers" in raw_tables:
            con.execute(f"""delete from raw.phone_numbers where {suppression.is_listed_sql('raw_phone', salt)}
                            or {suppression.is_listed_sql('e164', salt)}""")
        if customers and "customer_id_history" in tables_in(con, "marts"):
            con.execute("""delete from marts.customer_id_history
                           where list_contains(?, old_customer_id) or list_contains(?, new_customer_id)""",
                        [customers, customers])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return {"customers": customers, "identifiers_listed": listed, "raw_rows_quarantined": moved,
            "staged_rows_tallied": tallied, "quarantine_lines_scrubbed": scrubbed}
