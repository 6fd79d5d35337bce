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


WORLD = dict(customers=300, days=4, seed=13)
SYNC_CHECK = "marts/agg_sync_accuracy:sync_accuracy"


def _sync_rows(database, where: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(f"""select source, event_date::varchar, metric, control_value, warehouse_value, erased_value,
                                      abs_difference, status
                               from marts.agg_sync_accuracy where {where} order by all""").fetchall()


@pytest.fixture(scope="module")
def forgotten(tmp_path_factory):
    import simulator
    from orchestration.runner import run_pipeline

    with settings_at(tmp_path_factory.mktemp("forget")) as root:
        simulator.simulate(root / "landing", **WORLD)
        clean = run_pipeline(log=lambda m: None)
        warehouse = root / "warehouse.duckdb"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            # A known person: in the CRM, with an email, a phone and orders, and emailed on a day the sync
            # check has settled (outside sync_settling_days), so erasing them would fail it if not accounted for.
            email, crm_id, phone, settled_day = con.execute(
                """select e.identifier_value, c.identifier_value, p.identifier_value, min(s.event_date)::varchar
                   from marts.customer_identifier e
                   join marts.customer_identifier c on c.customer_id = e.customer_id and c.identifier_type = 'crm_id'
                   join marts.customer_identifier p on p.customer_id = e.customer_id and p.identifier_type = 'phone'
                   join staging.stg_email__events s on s.email = e.identifier_value
                   join marts.agg_sync_accuracy a on a.source = 'email' and a.event_date = s.event_date
                       and a.metric = s.event_type and not a.within_settling_window
                   where e.identifier_type = 'email' and e.sources like '%orders%'
                   group by all order by e.identifier_value limit 1""").fetchall()[0]
        needles = [email, crm_id, phone, phone[2:]]
        assert _tables_holding(warehouse, needles), "the person is in the warehouse before forget"
        with duckdb.connect(str(warehouse)) as con:
            done = forget(con, email=email.upper())
        scrub_current(root / "published", done["customers"])
        replayed = run_pipeline(log=lambda m: None)
        after_forget = _tables_holding(warehouse, needles) + _tables_holding(
            root / "published" / "current" / "omnichannel.duckdb", needles)
        erased_sync = _sync_rows(warehouse, "erased_value > 0")
        # A full rebuild: the source re-delivers every file, but 5% of the settled day's emails were lost on the
        # way; every partition is replayed and every model rebuilt.
        simulator.simulate(root / "landing", **WORLD, faults=[f"drop:email:{settled_day}:0.05"])
        rebuilt = run_pipeline(log=lambda m: None)
        after_rebuild = _tables_holding(warehouse, needles)
        lost_sync = _sync_rows(warehouse, "status = 'error'")
        yield dict(done=done, after_forget=after_forget, after_rebuild=after_rebuild, warehouse=warehouse,
                   clean=clean, replayed=replayed, rebuilt=rebuilt, erased_sync=erased_sync, lost_sync=lost_sync,
                   settled_day=settled_day)


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


def test_the_sync_check_accounts_for_erased_events_and_still_passes(forgotten):
    assert SYNC_CHECK not in forgotten["clean"]["failed_checks"]
    assert forgotten["done"]["staged_rows_tallied"] > 0
    erased = forgotten["erased_sync"]
    # Their events are gone from the warehouse but counted as erased, openly, on a settled day too.
    assert any(day == forgotten["settled_day"] and status == "ok" for _, day, *_, status in erased), erased
    for source, day, metric, control, held, erased_value, difference, status in erased:
        if status != "not_yet_synced":  # late events may still be on their way
            assert held < control and held + erased_value == control and difference == 0, (source, day, metric)
    assert SYNC_CHECK not in forgotten["replayed"]["failed_checks"]
    assert forgotten["replayed"]["published"]


def test_the_sync_check_still_fails_when_rows_really_go_missing_after_a_forget(forgotten):
    assert SYNC_CHECK in forgotten["rebuilt"]["failed_checks"] and not forgotten["rebuilt"]["published"]
    lost = forgotten["lost_sync"]
    assert lost and {(source, day) for source, day, *_ in lost} == {("email", forgotten["settled_day"])}
    # Erased events still count as accounted for; the lost lines are what the check names.
    assert all(held + erased_value < control for _, _, _, control, held, erased_value, _, _ in lost)
