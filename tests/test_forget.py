"""`omnichannel forget`: no trace of the person in any table, and none after every partition is replayed."""
import duckdb
import pytest

from orchestration.identity.forget import forget
from orchestration.publishing.release import scrub_current
from tests.conftest import settings_at


def _tables_holding(database, needles: list[str]) -> list[str]:
    """Every table.column, in every schema, whose text holds any needle (case-insensitive)."""
    hits = []
    with duckdb.connect(str(database), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON') and table_schema not in ('information_schema', 'pg_catalog')"
        ).fetchall()
        for schema, table, column in columns:
            for needle in needles:
                found = con.execute(f'select count(*) from "{schema}"."{table}" '
                                    f'where contains(lower(cast("{column}" as varchar)), ?)', [needle.lower()]).fetchall()
                if found[0][0]:
                    hits.append(f"{schema}.{table}.{column} holds {needle}")
    return hits


@pytest.fixture(scope="module")
def forgotten(tmp_path_factory):
    from orchestration import simulator
    from orchestration.runner import run_pipeline

    with settings_at(tmp_path_factory.mktemp("forget")) as root:
        simulator.simulate(root / "landing", customers=300, days=4, seed=13)
        run_pipeline(log=lambda m: None)
        warehouse = root / "warehouse.duckdb"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            # A known person: in the CRM, with an email, a phone and orders.
            email, crm_id, phone = con.execute(
                """select e.identifier_value, c.identifier_value, p.identifier_value
                   from marts.customer_identifier e
                   join marts.customer_identifier c on c.customer_id = e.customer_id and c.identifier_type = 'crm_id'
                   join marts.customer_identifier p on p.customer_id = e.customer_id and p.identifier_type = 'phone'
                   where e.identifier_type = 'email' and e.sources like '%orders%'
                   order by e.identifier_value limit 1""").fetchall()[0]
        needles = [email, crm_id, phone, phone[2:]]
        assert _tables_holding(warehouse, needles), "the person is in the warehouse before forget"
        with duckdb.connect(str(warehouse)) as con:
            done = forget(con, email=email.upper())
        scrub_current(root / "published", done["customers"])
        run_pipeline(log=lambda m: None)
        after_forget = _tables_holding(warehouse, needles) + _tables_holding(
            root / "published" / "current" / "omnichannel.duckdb", needles)
        # A full rebuild: every partition replayed from the landing files, every model rebuilt.
        run_pipeline(log=lambda m: None)
        after_rebuild = _tables_holding(warehouse, needles)
        yield dict(done=done, after_forget=after_forget, after_rebuild=after_rebuild, warehouse=warehouse)


def test_forget_leaves_no_trace_in_any_table(forgotten):
    assert forgotten["done"]["raw_rows_quarantined"] > 0
    assert forgotten["after_forget"] == []


def test_forget_survives_a_full_rebuild_and_counts_still_reconcile(forgotten):
    assert forgotten["after_rebuild"] == []
    with duckdb.connect(str(forgotten["warehouse"]), read_only=True) as con:
        suppressed = con.execute("select count(*) from raw.quarantine where reason like 'suppressed%' "
                                 "and raw_line is null").fetchall()[0][0]
        unbalanced = con.execute("select count(*) from raw.ingest_log "
                                 "where lines_read <> rows_loaded + duplicates + quarantined").fetchall()[0][0]
    assert suppressed > 0
    assert unbalanced == 0
