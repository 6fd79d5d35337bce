"""`forget` on hand-made landing files: one person's records by their person fields, nobody else's, before and after
a replay; requests that name nobody, or more than one person, refused before anything is written."""

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.identity.erasure_plan import ForgetRefused, find_person, parse_request, plan_erasure
from orchestration.identity.forget import erase, plan_for
from orchestration.ingestion.loader import load_partition
from orchestration.ingestion.phones import normalize_new_phones
from orchestration.ingestion.sources import RAW_TABLES

TABLES = {t.table: t for t in RAW_TABLES}
DAY = "2026-03-14"
LOADED_AT = datetime(2026, 3, 15, 6, 0)


def _write(root: Path, source: str, name: str, lines: list[str]) -> None:
    folder = root / source / DAY
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    _write(
        root,
        "email",
        "events.jsonl",
        [
            json.dumps(
                {
                    "sg_event_id": "e1",
                    "email": "  Jane+promo@Example.com ",
                    "timestamp": 1773483721,
                    "event": "open",
                    "customer_id": "C1",
                }
            ),
            json.dumps({"sg_event_id": "e2", "email": "bob@example.net", "timestamp": 1773483722, "event": "open"}),
            '{"sg_event_id": "e3", "email": "jane@example.com", "timest',  # cut short: unreadable, quarantined
            json.dumps({"sg_event_id": "e4", "email": "jane@example.com", "timestamp": 1}),  # no event: quarantined
            json.dumps(
                {
                    "sg_event_id": "e5",
                    "email": "bob@example.net",
                    "timestamp": 1,  # quarantined, not hers
                    "reason": "bounce for jane@example.com",
                }
            ),
        ],
    )
    _write(
        root,
        "sms",
        "messages.jsonl",
        [
            json.dumps(
                {
                    "sid": "m1",
                    "from": "415-555-0132",
                    "to": "+18005550100",
                    "status": "received",
                    "direction": "inbound",
                    "date_sent": "Sat, 14 Mar 2026 10:00:00 +0000",
                    "body": "STOP",
                }
            ),
            # Bob's message mentions her address in its text: that is not a record of hers.
            json.dumps(
                {
                    "sid": "m2",
                    "from": "+18005550100",
                    "to": "(415) 555-0144",
                    "status": "delivered",
                    "direction": "outbound-api",
                    "date_sent": "Sat, 14 Mar 2026 11:00:00 +0000",
                    "body": "Forward your receipt to jane@example.com",
                }
            ),
        ],
    )
    _write(
        root,
        "pos",
        "z.csv",
        [
            "store_id,receipt_id,local_time,store_tz,loyalty_id,email,phone,total_cents,currency,type,original_receipt_id",
            "S01,R1,2026-03-14 09:15:00,America/New_York,L77,,,5990,USD,sale,",
            "S01,R2,2026-03-14 09:20:00,America/New_York,,bob@example.net,,1200,USD,sale,",
        ],
    )
    _write(
        root,
        "web",
        "events.jsonl",
        [
            json.dumps(
                {"messageId": "w1", "type": "page", "anonymousId": "anon-jane", "timestamp": "2026-03-14T10:00:00Z"}
            ),
            json.dumps(
                {
                    "messageId": "w2",
                    "type": "page",
                    "anonymousId": "anon-family-tablet",
                    "timestamp": "2026-03-14T10:05:00Z",
                    "context": {"device": {"id": "dev-family"}},
                }
            ),
            json.dumps(
                {
                    "messageId": "w3",
                    "type": "page",
                    "anonymousId": "anon-bob",
                    "timestamp": "2026-03-14T10:06:00Z",
                    "properties": {"currency": "USD"},
                }
            ),
        ],
    )
    return root


IDENTIFIERS = [  # customer, type, value, shared, ownership valid_from
    ("cus_jane", "email", "jane@example.com", False, None),
    ("cus_jane", "phone", "+14155550132", False, None),
    ("cus_jane", "crm_id", "C1", False, None),
    ("cus_jane", "loyalty_id", "L77", False, None),
    ("cus_jane", "cookie", "anon-jane", False, None),
    ("cus_jane", "device", "dev-family", True, None),  # the family tablet: shared
    ("cus_jane", "phone", "+14155550199", False, None),  # her old number, recycled to Carl
    ("cus_carl", "phone", "+14155550199", False, "2026-03-01"),
    ("cus_bob", "email", "bob@example.net", False, None),
    ("cus_bob", "phone", "+14155550144", False, None),
    ("cus_bob", "cookie", "anon-bob", False, None),
]


@pytest.fixture
def con(tmp_path: Path, landing: Path, monkeypatch):
    monkeypatch.setenv("OMNI_HOME", str(tmp_path / "home"))
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    for table in ("email", "sms", "pos", "web"):
        load_partition(connection, TABLES[table], landing, DAY, LOADED_AT)
    normalize_new_phones(connection, "US")
    connection.execute("create schema marts")
    connection.execute("""create table marts.customer_identifier (customer_id varchar, identifier_type varchar,
                          identifier_value varchar, is_shared boolean, valid_from timestamp)""")
    connection.executemany("insert into marts.customer_identifier values (?, ?, ?, ?, ?)", IDENTIFIERS)
    yield connection
    connection.close()


def _event_ids(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"select _event_id from raw.{table} order by 1").fetchall()]


def test_the_plan_counts_her_records_by_person_fields_and_keeps_what_names_someone_else(con):
    before = con.execute("select count(*) from raw.quarantine").fetchall()[0][0]
    plan = plan_for(con, email=" JANE+news@example.COM ")
    assert plan.person.customer_id == "cus_jane"
    assert {kind for kind, _ in plan.person.identifiers} == {"email", "phone", "crm_id", "loyalty_id", "cookie"}
    assert {(kind, value) for kind, value, _ in plan.person.kept} == {
        ("device", "dev-family"),
        ("phone", "+14155550199"),
    }
    assert "415-555-0132" in plan.values  # the phone as typed, so records keyed by it match
    assert plan.records == {"email": 1, "sms": 1, "pos": 1, "web": 1}
    assert plan.quarantined_lines == 2  # the cut-short line (token scan) and the one without an event (fields)
    described = plan.describe()
    assert described.startswith("will erase 4 records from 4 sources (email: 1, pos: 1, sms: 1, web: 1)")
    assert "phone +14155550199 (also cus_carl)" in described and "device dev-family (shared" in described
    # Planning wrote nothing.
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert "identity_suppressions" not in tables
    assert con.execute("select count(*) from raw.quarantine").fetchall()[0][0] == before


def test_erase_takes_her_records_only_and_a_replay_keeps_them_out(con, landing):
    done = erase(con, plan_for(con, email="jane@example.com"))
    assert done["raw_rows_quarantined"] == 4 and done["quarantine_lines_scrubbed"] == 2
    assert _event_ids(con, "email") == ["e2"]
    assert _event_ids(con, "sms") == ["m2"]  # Bob's message that mentions her address stays
    assert _event_ids(con, "pos") == ["R2"]
    assert _event_ids(con, "web") == ["w2", "w3"]  # the shared tablet's page view is not hers alone
    kept_line = con.execute("select raw_line from raw.quarantine where raw_line like '%bounce for%'").fetchall()
    assert kept_line, "a quarantined line that holds her address outside the person fields keeps its text"
    unbalanced = "select count(*) from raw.ingest_log where lines_read <> rows_loaded + duplicates + quarantined"
    assert con.execute(unbalanced).fetchall()[0][0] == 0
    for table in ("email", "sms", "pos", "web"):  # every file delivered again
        load_partition(con, TABLES[table], landing, DAY, LOADED_AT)
    assert _event_ids(con, "email") == ["e2"] and _event_ids(con, "sms") == ["m2"]
    assert _event_ids(con, "pos") == ["R2"] and _event_ids(con, "web") == ["w2", "w3"]
    suppressed = con.execute("select count(*), count(raw_line) from raw.quarantine where reason like 'suppressed%'")
    assert suppressed.fetchall()[0] == (6, 0)
    assert con.execute(unbalanced).fetchall()[0][0] == 0


@pytest.mark.parametrize(
    "request_args, message",
    [
        (dict(email="USD"), "not an email address: 'USD'"),
        (dict(email="jane@@example.com"), "not an email address"),
        (dict(phone="12"), "not a valid phone number for region US: '12'"),
        (dict(phone="+1 555 000 0000"), "not a valid phone number"),
        (dict(customer_id="  "), "the customer id is empty"),
        (dict(), "exactly one of"),
        (dict(email="jane@example.com", phone="+14155550132"), "exactly one of"),
    ],
)
def test_malformed_requests_are_usage_errors(request_args, message):
    with pytest.raises(ForgetRefused, match=message) as refused:
        parse_request(**request_args, region="US")
    assert refused.value.exit_code == 2


def test_requests_are_normalized():
    assert str(parse_request(email=" Jane+promo@Example.COM", region="US")) == "email jane@example.com"
    assert str(parse_request(phone="(415) 555-0132", region="US")) == "phone +14155550132"


@pytest.mark.parametrize(
    "request_args, message",
    [
        (dict(email="nobody@example.org"), "no customer holds email nobody@example.org"),
        (dict(phone="+14155550188"), "no customer holds phone"),
        (dict(customer_id="cus_nobody"), "no customer holds customer id cus_nobody"),
        (dict(phone="415 555 0199"), "held by 2 customers .cus_jane, cus_carl."),
    ],
)
def test_values_that_name_nobody_or_several_people_are_refused(con, request_args, message):
    request = parse_request(**request_args, region="US")
    with pytest.raises(ForgetRefused, match=message) as refused:
        plan_erasure(con, find_person(con, request))
    assert refused.value.exit_code == 1


def test_a_customer_with_no_identifier_of_their_own_is_refused(con):
    con.execute("insert into marts.customer_identifier values ('cus_kid', 'device', 'dev-family', true, null)")
    with pytest.raises(ForgetRefused, match="holds no identifier of their own, only device dev-family"):
        find_person(con, parse_request(customer_id="cus_kid", region="US"))


def test_a_warehouse_without_customers_is_refused(tmp_path):
    with (
        duckdb.connect(str(tmp_path / "empty.duckdb")) as con,
        pytest.raises(ForgetRefused, match="run `omnichannel run` first"),
    ):
        find_person(con, parse_request(email="jane@example.com", region="US"))
