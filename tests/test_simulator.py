"""The simulator: deterministic for a seed, writes the contract's shapes, control totals that reconcile, faults."""

import csv
import gzip
import hashlib
import io
import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from orchestration.ingestion.sources import RAW_TABLES
from simulator import simulate
from simulator.faults import SOURCES
from simulator.world import STORES

SMALL = dict(customers=300, days=5, seed=11)


def _text(path: Path) -> str:
    return (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)).read()


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sim") / "landing"
    simulate(root, **SMALL)
    return root


def test_same_seed_same_bytes_other_seed_other_world(tmp_path, landing):
    again = tmp_path / "again"
    simulate(again, **SMALL)
    assert _tree_digest(again) == _tree_digest(landing)
    other = tmp_path / "other"
    simulate(other, **{**SMALL, "seed": 12})
    assert _tree_digest(other) != _tree_digest(landing)


def _faulty_lines(landing: Path) -> set[tuple[str, int]]:
    faults = json.loads((landing / "_truth" / "faults.json").read_text())
    return {(f["file"], f["line"]) for f in faults if f["kind"] in {"malformed_json", "truncated", "missing_required"}}


def _records(landing: Path, table) -> list[tuple[str, int, dict]]:
    bad = _faulty_lines(landing)
    out = []
    for path in sorted((landing / table.source).glob(f"*/{table.file_glob}")):
        rel = path.relative_to(landing).as_posix()
        text = _text(path)
        if table.format == "csv":
            rows = list(csv.DictReader(io.StringIO(text)))
            out += [(rel, i + 2, row) for i, row in enumerate(rows) if (rel, i + 2) not in bad]
        else:
            for i, line in enumerate(text.splitlines()):
                if (rel, i + 1) not in bad:
                    out.append((rel, i + 1, json.loads(line)))
    return out


@pytest.mark.parametrize("table", RAW_TABLES, ids=lambda t: t.table)
def test_every_intact_line_has_the_contracts_required_fields(landing, table):
    records = _records(landing, table)
    assert records, f"no {table.table} records"
    for rel, line, record in records:
        for field in table.required_fields:
            value = record
            for part in field.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            assert value not in (None, ""), f"{rel}:{line} lacks {field}"


def test_injected_corrupt_lines_really_are_corrupt(landing):
    bad = _faulty_lines(landing)
    assert bad
    for rel, line in bad:
        text = _text(landing / rel).splitlines()[line - 1]
        if rel.endswith((".jsonl", ".jsonl.gz")):
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                continue
            table = next(t for t in RAW_TABLES if t.source == rel.split("/")[0] and t.format == "jsonl")
            assert any(f.split(".")[0] not in record for f in table.required_fields), (rel, line)


def _event_day(table, record) -> str:
    if table.table == "email":
        return datetime.fromtimestamp(int(record["timestamp"]), UTC).date().isoformat()
    if table.table == "sms":
        return (
            pd.Timestamp(datetime.strptime(record["date_sent"], "%a, %d %b %Y %H:%M:%S %z"))
            .tz_convert("UTC")
            .date()
            .isoformat()
        )
    field = {
        "push": "event_time",
        "web": "timestamp",
        "app": "timestamp",
        "ads": "click_time",
        "social": "created_time",
        "support": "created_at",
    }[table.table]
    return pd.Timestamp(record[field]).tz_convert("UTC").date().isoformat()


@pytest.mark.parametrize(
    "name,metric_field",
    [
        ("email", "event"),
        ("sms", "status"),
        ("push", "event"),
        ("web", "type"),
        ("app", "type"),
        ("social", "action"),
        ("support", None),
        ("ads", None),
    ],
)
def test_control_counts_are_distinct_events_by_utc_event_day(landing, name, metric_field):
    table = next(t for t in RAW_TABLES if t.table == name)
    seen, counts = set(), Counter()
    for _, _, record in _records(landing, table):
        key = "|".join(str(record.get(f, "")) for f in table.event_id_fields)
        if key in seen:
            continue
        seen.add(key)
        metric = record[metric_field] if metric_field else ("ticket" if name == "support" else "click")
        counts[(_event_day(table, record), metric)] += 1
    # What the source counted but has not delivered yet: late lines of the last days, still in flight.
    waiting = _in_flight(landing, name, seen)
    assert (waiting["event_day"].astype(str) >= "2026-03-03").all()  # late lines land within three days
    counts.update(zip(waiting["event_day"].astype(str), waiting["metric"]))
    control = Counter()
    for path in (landing / "_control" / table.source).glob("*.json"):
        doc = json.loads(path.read_text())
        assert set(doc) == {"source", "date", "counts", "sums"}
        for metric, value in doc["counts"].items():
            control[(doc["date"], metric)] += value
    assert +control == +counts


def _in_flight(landing: Path, name: str, landed: set) -> pd.DataFrame:
    """The table's events that happened by the last day and have no intact copy in the landing zone yet."""
    frame = pd.read_parquet(landing / "_truth" / "in_flight.parquet")
    frame = frame[(frame["table"] == name) & frame["kind"].isin(["event", "late", "unknown_field", "duplicate"])]
    return frame[~frame["event_id"].isin(landed)].drop_duplicates("event_id")


def test_pos_control_sums_are_net_takings_and_stores_span_three_zones(landing):
    table = next(t for t in RAW_TABLES if t.table == "pos")
    rows = [r for _, _, r in _records(landing, table)]
    assert {r["store_tz"] for r in rows} <= set(STORES["store_tz"])
    assert len(set(STORES["store_tz"])) == 3
    net = (
        sum(
            (int(r["total_cents"]) if r["type"] == "sale" else -int(r["total_cents"]))
            for r in {r["receipt_id"]: r for r in rows}.values()
        )
        / 100
    )
    control = sum(
        json.loads(p.read_text())["sums"].get("total", 0) for p in (landing / "_control" / "pos").glob("*.json")
    )
    assert control == pytest.approx(net, abs=0.01)


def test_a_drop_fault_leaves_landing_short_of_control_for_that_source_and_day_only(tmp_path):
    root = tmp_path / "faulty"
    simulate(root, **SMALL, faults=["drop:email:2026-03-03:0.2"])
    faults = json.loads((root / "_truth" / "faults.json").read_text())
    dropped = [f for f in faults if f["kind"] == "drop"]
    assert dropped and {(f["source"], f["day"]) for f in dropped} == {("email", "2026-03-03")}
    table = next(t for t in RAW_TABLES if t.table == "email")
    landed = {r["sg_event_id"]: _event_day(table, r) for _, _, r in _records(root, table)}
    on_day = {e for e, day in landed.items() if day == "2026-03-03"}
    waiting = _in_flight(root, "email", set(landed)).query("event_day.astype('str') == '2026-03-03'")
    control = sum(json.loads((root / "_control" / "email" / "2026-03-03.json").read_text())["counts"].values())
    assert control - len(on_day) - len(waiting) == len(dropped)


def test_truth_covers_people_and_purchase_revenue_matches_the_exports(landing):
    truth = landing / "_truth"
    ids = pd.read_parquet(truth / "identifiers.parquet")
    persons = pd.read_parquet(truth / "persons.parquet")
    assert set(persons["person_id"]) <= set(ids["person_id"].dropna())
    assert set(ids["identifier_type"]) <= {
        "email",
        "phone",
        "cookie",
        "device",
        "push_player",
        "crm_id",
        "shop_customer_id",
        "loyalty_id",
        "social_handle",
        "click_id",
    }
    statuses = set(pd.read_parquet(truth / "emails.parquet")["email_status"])
    assert statuses <= {"valid", "role", "disposable", "typo", "invalid"}
    purchases = pd.read_parquet(truth / "purchases.parquet")
    orders = {}
    for _, _, r in _records(landing, next(t for t in RAW_TABLES if t.table == "orders")):
        if str(r["id"]) not in orders or r["updated_at"] > orders[str(r["id"])]["updated_at"]:
            orders[str(r["id"])] = r
    refunded = {
        k: sum(
            float(t["amount"])
            for rf in r["refunds"]
            for t in rf["transactions"]
            if t["kind"] == "refund" and t["status"] == "success"
        )
        for k, r in orders.items()
    }
    online = purchases[purchases["purchase_channel"] != "store"].set_index("order_ref")["net_revenue"]
    for order_id, record in orders.items():
        net = 0.0 if record["cancelled_at"] else float(record["total_price"]) - refunded[order_id]
        assert online[order_id] == pytest.approx(net, abs=0.005)


# The CSV headers docs/landing-records.md pins.
CSV_HEADERS = {
    "push": "notification_id,campaign_id,player_id,external_user_id,event,event_time",
    "ads": "click_id,network,campaign_id,campaign_name,ad_group,click_time,cost_micros",
    "pos": "store_id,receipt_id,local_time,store_tz,loyalty_id,email,phone,total_cents,currency,type,original_receipt_id",
    "crm": "customer_id,email,phone,first_name,last_name,birth_date,gender,loyalty_id,instagram_handle,created_at",
}
CONTROL_KEYS = {
    "email": {
        "processed",
        "dropped",
        "deferred",
        "delivered",
        "bounce",
        "open",
        "click",
        "unsubscribe",
        "group_unsubscribe",
        "spamreport",
        "group_resubscribe",
    },
    "sms": {"queued", "sent", "delivered", "undelivered", "failed", "received"},
    "push": {"sent", "delivered", "opened", "failed"},
    "web": {"page", "track", "identify", "screen", "alias"},
    "app": {"page", "track", "identify", "screen", "alias"},
    "ads": {"click"},
    "social": {"like", "comment", "share", "dm", "lead_submit", "save"},
    "orders": {"orders"},
    "pos": {"sale", "return"},
    "support": {"ticket"},
    "crm": {"customers"},
}
CONTROL_SUMS = {"orders": {"total_price"}, "pos": {"total"}}


def test_every_source_has_day_folders_and_the_documented_file_names(landing):
    assert sorted(SOURCES) == sorted(t.source for t in RAW_TABLES if t.table != "crm_consents")
    for source in SOURCES:
        days = sorted(p.name for p in (landing / source).iterdir())
        assert days and days[0] >= "2026-03-01", source
        assert days[-1] <= "2026-03-05", source  # one delivery folder a day at most; later ones are in flight
    for day in (landing / "crm").iterdir():
        names = {p.name.removesuffix(".gz") for p in day.iterdir()}
        assert names <= {"customers.csv", "consents.jsonl"} and "customers.csv" in names, day
    files = [p for p in landing.rglob("*") if p.is_file() and not p.relative_to(landing).parts[0].startswith("_")]
    assert any(p.suffix == ".gz" for p in files) and any(p.suffix != ".gz" for p in files)


@pytest.mark.parametrize("source", sorted(CSV_HEADERS))
def test_csv_headers_are_the_documented_ones(landing, source):
    files = [p for p in (landing / source).glob("*/*") if ".csv" in p.name]
    assert files
    for path in files:
        assert _text(path).split("\n", 1)[0] == CSV_HEADERS[source], path


@pytest.mark.parametrize("source", SOURCES)
def test_control_files_have_the_documented_keys(landing, source):
    paths = sorted((landing / "_control" / source).glob("*.json"))
    assert paths
    for path in paths:
        doc = json.loads(path.read_text())
        assert set(doc) == {"source", "date", "counts", "sums"} and doc["source"] == source
        assert doc["date"] == path.stem
        assert set(doc["counts"]) <= CONTROL_KEYS[source], (path, doc["counts"])
        assert set(doc["sums"]) == CONTROL_SUMS.get(source, set()), path
        assert all(isinstance(v, int) and v > 0 for v in doc["counts"].values())


def test_crm_control_counts_the_rows_of_that_days_customers_file(landing):
    for path in (landing / "_control" / "crm").glob("*.json"):
        doc = json.loads(path.read_text())
        (csv_file,) = (landing / "crm" / doc["date"]).glob("customers.csv*")
        assert len(list(csv.DictReader(io.StringIO(_text(csv_file))))) == doc["counts"]["customers"]


def test_orders_control_counts_orders_created_that_day_as_first_placed(landing):
    table = next(t for t in RAW_TABLES if t.table == "orders")
    first: dict[str, dict] = {}
    for _, _, r in _records(landing, table):
        if str(r["id"]) not in first or r["updated_at"] < first[str(r["id"])]["updated_at"]:
            first[str(r["id"])] = r
    counts, sums = Counter(), Counter()
    for r in first.values():
        day = pd.Timestamp(r["created_at"]).tz_convert("UTC").date().isoformat()
        counts[day] += 1
        sums[day] += float(r["total_price"])
    for path in (landing / "_control" / "orders").glob("*.json"):
        doc = json.loads(path.read_text())
        assert doc["counts"]["orders"] == counts[doc["date"]]
        assert doc["sums"]["total_price"] == pytest.approx(sums[doc["date"]], abs=0.01)


def test_manifest_lists_every_kind_of_dirt_with_file_and_line(landing):
    faults = json.loads((landing / "_truth" / "faults.json").read_text())
    kinds = Counter(f["kind"] for f in faults)
    for kind in (
        "duplicate",
        "late",
        "malformed_json",
        "truncated",
        "missing_required",
        "unknown_field",
        "unknown_event_type",
        "shared_device",
        "recycled_phone",
        "guest_email",
        "bot",
        "test_account",
    ):
        assert kinds[kind] > 0, kind
    for f in faults:
        if f["kind"] in {
            "duplicate",
            "late",
            "malformed_json",
            "truncated",
            "missing_required",
            "unknown_field",
            "unknown_event_type",
            "guest_email",
        }:
            assert (landing / f["file"]).is_file() and f["line"] >= 1, f
    # Duplicates are exact re-sends: the same line text appears more than once.
    dup = next(f for f in faults if f["kind"] == "duplicate")
    text = _text(landing / dup["file"]).splitlines()[dup["line"] - 1]
    copies = sum(_text(p).splitlines().count(text) for p in (landing / dup["source"]).glob("*/*"))
    assert copies >= 2


def test_a_delay_fault_moves_that_days_events_later(tmp_path):
    root = tmp_path / "delayed"
    simulate(root, **SMALL, faults=["delay:sms:2026-03-02:2"])
    faults = json.loads((root / "_truth" / "faults.json").read_text())
    assert [f["kind"] for f in faults if f["kind"] in {"delay", "drop"}] == ["delay"]
    table = next(t for t in RAW_TABLES if t.table == "sms")
    on_day = [rel for rel, _, r in _records(root, table) if _event_day(table, r) == "2026-03-02"]
    assert on_day and all(rel.split("/")[1] >= "2026-03-04" for rel in on_day)


def test_bad_fault_specs_are_refused(tmp_path):
    for spec in ("drop:nowhere:2026-03-02:0.1", "explode:sms:2026-03-02:1", "drop:sms:2026-03-02:2", "drop:sms"):
        with pytest.raises(ValueError):
            simulate(tmp_path / "x", **SMALL, faults=[spec])


def test_truth_identity_dirt_and_store_revenue(landing):
    truth = landing / "_truth"
    ids = pd.read_parquet(truth / "identifiers.parquet")
    persons = pd.read_parquet(truth / "persons.parquet")
    assert set(persons["person_id"]) == set(ids["person_id"])
    bots = persons[persons["is_bot"]]
    assert len(bots) and (ids[ids["person_id"].isin(bots["person_id"])]["identifier_type"] == "cookie").all()
    assert ids["is_shared"].any() and ids["is_junk"].any()
    junk = ids[ids["is_junk"] & (ids["identifier_type"] == "email")]
    assert junk["identifier_value"].duplicated().any() or len(junk) > 0
    # A recycled number: the old owner's row ends when the new owner's starts.
    phones = ids[ids["identifier_type"] == "phone"].sort_values("valid_from")
    shared = phones[phones["identifier_value"].duplicated(keep=False) & ~phones["is_junk"]]
    assert len(shared)
    for _, rows in shared.groupby("identifier_value"):
        assert rows["valid_to"].iloc[0] == rows["valid_from"].iloc[1]
    statuses = set(pd.read_parquet(truth / "emails.parquet")["email_status"])
    assert statuses == {"valid", "role", "disposable", "typo", "invalid"}
    effects = json.loads((truth / "channel_effects.json").read_text())
    assert sorted(effects["ranking"]) == sorted(effects["effects"])
    assert len(set(effects["uplift_per_touch"].values())) == len(effects["effects"])
    assert len(pd.read_parquet(truth / "frequency.parquet"))
    assert "person_id" in pd.read_parquet(truth / "consent_violations.parquet").columns
    # Store purchases: a sale minus the return that names it.
    purchases = pd.read_parquet(truth / "purchases.parquet")
    rows = [r for _, _, r in _records(landing, next(t for t in RAW_TABLES if t.table == "pos"))]
    returned = Counter()
    for r in {r["receipt_id"]: r for r in rows}.values():
        if r["type"] == "return":
            returned[r["original_receipt_id"]] += int(r["total_cents"])
    store = purchases[purchases["purchase_channel"] == "store"].set_index("order_ref")["net_revenue"]
    sales = {r["receipt_id"]: int(r["total_cents"]) for r in rows if r["type"] == "sale"}
    assert set(store.index) == set(sales)
    for receipt, cents in sales.items():
        assert store[receipt] == pytest.approx((cents - returned[receipt]) / 100, abs=0.005)
    assert purchases["net_revenue"].sum() <= purchases["gross_revenue"].sum()


def test_command_line_options_run_the_simulator(tmp_path, capsys):
    import argparse

    from simulator import add_arguments, run_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--out",
            str(tmp_path / "cli"),
            "--customers",
            "40",
            "--days",
            "2",
            "--seed",
            "5",
            "--start",
            "2026-04-01",
            "--fault",
            "drop:web:2026-04-01:0.5",
            "--rate",
            "duplicate=0",
            "--rate",
            "late=0",
        ]
    )
    assert run_from_args(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["faults"]["drop"] > 0 and "duplicate" not in summary["faults"] and "late" not in summary["faults"]
    assert sorted(p.name for p in (tmp_path / "cli" / "web").iterdir())[0] == "2026-04-01"
    defaults = parser.parse_args(["--out", "x"])
    assert (defaults.customers, defaults.days, defaults.seed) == (2000, 14, 7)


def _data_lines(landing: Path, source: str) -> Counter:
    """Every line the source's files hold (CSV headers aside), whatever files they were split into."""
    lines = Counter()
    for path in (landing / source).glob("*/*"):
        text = _text(path).splitlines()
        lines.update(text[1:] if ".csv" in path.name else text)
    return lines


def test_splitting_long_days_into_files_loses_no_line_and_keeps_one_crm_file_a_day(tmp_path, landing):
    # A million-customer world's CRM day 0 is longer than a file holds; a small file size shows the same here.
    split = tmp_path / "split"
    simulate(split, **SMALL, rows_per_file=40)
    assert any(len(list(day.iterdir())) > 1 for day in (split / "email").iterdir())
    for source in SOURCES:
        assert _data_lines(split, source) == _data_lines(landing, source), source
    for day in (split / "crm").iterdir():
        names = sorted(p.name.removesuffix(".gz") for p in day.iterdir())
        assert names in (["consents.jsonl", "customers.csv"], ["customers.csv"]), day
    test_crm_control_counts_the_rows_of_that_days_customers_file(split)


def test_phone_numbers_are_valid_and_no_two_people_hold_one_by_chance(landing):
    import numpy as np
    import phonenumbers

    from simulator.world import _phones

    # At a few hundred thousand people, numbers drawn independently would already collide by the hundreds.
    numbers = _phones(np.random.default_rng(0), 300_000)
    assert len(set(numbers)) == len(numbers)
    for number in numbers[:: len(numbers) // 3000]:
        parsed = phonenumbers.parse(number, "US")
        assert phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) == "US", number
        assert number[5:8] != "555" and number[6:8] != "11", number
    # In a world, the numbers two people hold are the deliberate faults only: recycled numbers (one owner after
    # the other) and junk typed at the till.
    ids = pd.read_parquet(landing / "_truth" / "identifiers.parquet")
    phones = ids[(ids["identifier_type"] == "phone") & ~ids["is_junk"]]
    held_by_two = set(phones.loc[phones["identifier_value"].duplicated(), "identifier_value"])
    faults = json.loads((landing / "_truth" / "faults.json").read_text())
    assert held_by_two == {f["event_id"] for f in faults if f["kind"] == "recycled_phone"}
    for number in phones["identifier_value"]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number, "US")), number


def test_every_consent_line_names_a_customer_an_address_or_a_number(landing):
    table = next(t for t in RAW_TABLES if t.table == "crm_consents")
    records = [r for _, _, r in _records(landing, table)]
    assert {r["source"] for r in records} == {"signup", "preference_center"}
    assert {r["channel"] for r in records if r["source"] == "preference_center"} >= {"email", "sms", "push"}
    nameless = [r for r in records if not (r["customer_id"] or r["email"] or r["phone"])]
    assert not nameless, nameless[:3]


def test_pos_returns_across_a_daylight_saving_change_count_on_their_utc_day(tmp_path):
    # 2026-03-08 is the US spring-forward day: a return a few days after a sale can cross it, and the till's local
    # time must still convert to the UTC day the control totals count it on.
    simulate(tmp_path / "landing", customers=20000, days=5, seed=5, start=date(2026, 3, 6))
    table = next(t for t in RAW_TABLES if t.table == "pos")
    days = Counter()
    records = {r["receipt_id"]: r for _, _, r in _records(tmp_path / "landing", table)}
    for record in records.values():
        utc = pd.Timestamp(record["local_time"]).tz_localize(record["store_tz"]).tz_convert("UTC")
        days[(utc.date().isoformat(), record["type"])] += 1
    waiting = _in_flight(tmp_path / "landing", "pos", set(records))
    days.update(zip(waiting["event_day"].astype(str), waiting["metric"]))
    control = Counter()
    for path in (tmp_path / "landing" / "_control" / "pos").glob("*.json"):
        doc = json.loads(path.read_text())
        for metric, value in doc["counts"].items():
            control[(doc["date"], metric)] += value
    assert any(day >= "2026-03-08" and kind == "return" for day, kind in days)
    assert +control == +days


def _crm_rows(landing: Path) -> list[tuple[str, dict]]:
    """Every CRM customers.csv row with its delivery day."""
    return [
        (path.parent.name, row)
        for path in sorted((landing / "crm").glob("*/customers.csv*"))
        for row in csv.DictReader(io.StringIO(_text(path)))
    ]


def _sends(landing: Path) -> list[dict]:
    table = next(t for t in RAW_TABLES if t.table == "email")
    return [r for _, _, r in _records(landing, table) if r["event"] == "processed"]


def _normal(email: str) -> str:
    local, _, domain = email.strip().lower().partition("@")
    return local.split("+")[0] + "@" + domain


def test_the_esp_mails_second_and_stale_addresses_tagged_with_the_crm_id_and_the_truth_lists_them(landing):
    truth = landing / "_truth"
    esp = pd.read_parquet(truth / "esp_addresses.parquet")
    faults = json.loads((truth / "faults.json").read_text())
    second = {f["event_id"] for f in faults if f["kind"] == "second_email"}
    stale = {f["event_id"] for f in faults if f["kind"] == "stale_email"}
    assert second and stale and not second & stale
    assert set(esp.loc[esp["kind"] == "second", "email"]) == second
    assert set(esp.loc[esp["kind"] == "stale", "email"]) <= stale
    owner = dict(zip(esp["email"], esp["customer_id"]))
    crm = _crm_rows(landing)
    crm_emails = {_normal(r["email"]) for _, r in crm if r["email"]}
    sends = _sends(landing)
    to_second = [r for r in sends if _normal(r["email"]) in second]
    assert to_second and not second & crm_emails  # the CRM never learns them
    assert all(r.get("customer_id") == owner[_normal(r["email"])] for r in to_second)
    for address in stale:
        customer = owner[address]
        listed = sorted((day, _normal(r["email"])) for day, r in crm if r["customer_id"] == customer)
        assert listed[0][1] == address and listed[-1][1] != address  # the CRM had it, then changed it
        changed_on = next(day for day, email in listed if email != address)
        late = [
            r
            for r in sends
            if _normal(r["email"]) == address
            and datetime.fromtimestamp(int(r["timestamp"]), UTC).date().isoformat() > changed_on
        ]
        assert late and all(r.get("customer_id") == customer for r in late)
    # Both are the person's: identity truth and email statuses list them.
    ids = pd.read_parquet(truth / "identifiers.parquet")
    emails = ids[ids["identifier_type"] == "email"]
    assert (second | stale) <= set(emails["identifier_value"])
    statuses = pd.read_parquet(truth / "emails.parquet").set_index("email")["email_status"]
    assert set(statuses.reindex(sorted(second | stale))) == {"valid"}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_every_kind_of_esp_address_appears_in_any_world_of_200_customers(tmp_path, seed):
    simulate(tmp_path / "landing", customers=200, days=3, seed=seed)
    kinds = set(pd.read_parquet(tmp_path / "landing" / "_truth" / "esp_addresses.parquet")["kind"])
    assert kinds == {"crm", "second", "stale"}


def test_a_misaddress_fault_sends_mail_for_one_customer_to_another_and_changes_no_count(tmp_path, landing):
    root = tmp_path / "misaddressed"
    simulate(root, **SMALL, faults=["misaddress:email:2026-03-03:0.05"])
    faults = [f for f in json.loads((root / "_truth" / "faults.json").read_text()) if f["kind"] == "misaddress"]
    esp = pd.read_parquet(root / "_truth" / "esp_addresses.parquet")
    wrong = esp[esp["kind"] == "other_customer"]
    assert faults and wrong["messages"].sum() == len(faults) and {f["day"] for f in faults} == {"2026-03-03"}
    assert set(wrong["sent_date"].astype(str)) == {"2026-03-03"}
    # The address is another CRM customer's, the tag is the intended customer's.
    holders = {}
    for _, row in _crm_rows(root):
        holders.setdefault(_normal(row["email"]), set()).add(row["customer_id"])
    sends = {r["sg_message_id"]: r for r in _sends(root)}
    for fault in faults:
        send = sends[fault["event_id"]]
        assert send["customer_id"] and send["customer_id"] not in holders[_normal(send["email"])]
    # Every count still matches: the control totals are the clean world's.
    assert _tree_digest(root / "_control") == _tree_digest(landing / "_control")
    for spec in ("misaddress:sms:2026-03-03:0.05", "misaddress:email:2026-03-03:1.5"):
        with pytest.raises(ValueError):
            simulate(tmp_path / "x", **SMALL, faults=[spec])


# Every kind of dirt the pipeline must handle, as the simulator's summary counts it.
DIRT_KINDS = {
    "bot", "duplicate", "guest_email", "late", "malformed_json", "missing_required", "recycled_phone", "second_email",
    "shared_device", "stale_email", "test_account", "truncated", "unknown_event_type", "unknown_field",
}  # fmt: skip


def _landing_text(root: Path) -> str:
    """Every delivered line of the landing zone, lower-cased (not the control totals or the truth)."""
    parts = []
    for path in sorted(root.glob("*/*/*")):
        if not path.parts[-3].startswith("_"):
            parts.append(
                (gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()).lower()
            )
    return "\n".join(parts)


@pytest.mark.parametrize("seed", [1, 2, 4, 8])
def test_every_kind_of_dirt_appears_in_any_world_of_200_customers(tmp_path, seed):
    # These seeds once lacked one kind or another (a malformed line, a recycled phone, a role address in the data).
    summary = simulate(tmp_path / "landing", customers=200, days=3, seed=seed)
    assert set(summary["faults"]) >= DIRT_KINDS, DIRT_KINDS - set(summary["faults"])
    truth = tmp_path / "landing" / "_truth"
    text = _landing_text(tmp_path / "landing")
    emails = pd.read_parquet(truth / "emails.parquet")
    delivered = emails[[email.lower() in text for email in emails["email"]]]
    assert set(delivered["email_status"]) == {"valid", "role", "disposable", "typo", "invalid"}
    # Two people typing one guest address at the till, as soon as two people bought in a store (seed 2's three
    # days hold a single store sale).
    ids = pd.read_parquet(truth / "identifiers.parquet")
    guests = ids[(ids["identifier_type"] == "email") & ids["is_junk"] & ~ids["identifier_value"].str.startswith("test")]
    store_buyers = (
        pd.read_parquet(truth / "purchases.parquet").query("purchase_channel == 'store'")["person_id"].nunique()
    )
    sharing = guests.groupby("identifier_value")["person_id"].nunique().max()
    assert sharing >= min(2, store_buyers), (sharing, store_buyers)


# One more day of the same history: the same seed and options make the first days' files whatever the horizon.
GROW = dict(customers=150, seed=21, faults=["delay:sms:2026-03-02:2"])


def _landed(root: Path) -> dict[str, bytes]:
    """Every file of the landing zone but the truth: the source folders and `_control`."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "_truth"
    }


def _day_of(rel: str) -> str:
    """The delivery day of a source file, the event day of a `_control` file."""
    parts = rel.split("/")
    return parts[2].split(".")[0] if parts[0] == "_control" else parts[1]


@pytest.fixture(scope="module")
def grown(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("grown")
    simulate(base / "four", days=4, **GROW)
    simulate(base / "six", days=6, **GROW)
    return base


def test_a_longer_world_is_the_shorter_one_and_what_happens_next(grown):
    four, six = _landed(grown / "four"), _landed(grown / "six")
    assert {_day_of(rel) for rel in four} == {"2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"}
    assert any(rel.startswith("_control/") for rel in four) and any(rel.startswith("crm/") for rel in four)
    unequal = [rel for rel, data in four.items() if six.get(rel) != data]
    assert not unequal, unequal[:5]
    assert {_day_of(rel) for rel in set(six) - set(four)} == {"2026-03-05", "2026-03-06"}
    # What was still in flight after day 4 lands in the longer world's day 5: day 4's late lines and duplicates.
    waiting = pd.read_parquet(grown / "four" / "_truth" / "in_flight.parquet")
    waiting["event_day"], waiting["delivery_day"] = (
        waiting["event_day"].astype(str),
        waiting["delivery_day"].astype(str),
    )
    on_five = waiting[waiting["delivery_day"] == "2026-03-05"]
    late = on_five[(on_five["kind"] == "late") & (on_five["event_day"] == "2026-03-04")]
    assert len(late) and (waiting["delivery_day"] > "2026-03-04").all()
    faults = json.loads((grown / "six" / "_truth" / "faults.json").read_text())
    landed_on_five = {(f["kind"], f["event_id"]) for f in faults if f.get("day") == "2026-03-05" and "file" in f}
    assert set(zip(late["kind"], late["event_id"])) <= landed_on_five
    dirty = on_five[on_five["kind"].isin(["late", "duplicate"])]
    assert set(zip(dirty["kind"], dirty["event_id"])) <= landed_on_five


def _same_truth(one: Path, other: Path) -> None:
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in other.iterdir())
    for name in names:
        if name.endswith(".parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(one / name), pd.read_parquet(other / name), obj=name)
        else:
            assert (one / name).read_text() == (other / name).read_text(), name


def test_appending_a_day_twice_makes_the_six_day_world(grown, tmp_path):
    import shutil

    from omnichannel.cli import build_parser
    from simulator import append_day

    zone = tmp_path / "zone"
    shutil.copytree(grown / "four", zone)
    summary = append_day(zone)
    assert summary["in_flight"] >= 0 and json.loads((zone / "_truth" / "simulation.json").read_text())["days"] == 5
    args = build_parser().parse_args(["simulate", "--append-day", "--out", str(zone)])
    assert args.handler(args) == 0
    assert _landed(zone) == _landed(grown / "six")
    _same_truth(zone / "_truth", grown / "six" / "_truth")


def test_append_day_refuses_a_landing_zone_the_simulator_did_not_write(tmp_path, landing):
    from omnichannel.cli import UsageError, build_parser

    exports = tmp_path / "exports"
    (exports / "_control").mkdir(parents=True)  # looks like a landing zone, holds no simulation
    broken = tmp_path / "broken"
    (broken / "_truth").mkdir(parents=True)
    (broken / "_truth" / "simulation.json").write_text('{"customers": 10}')
    for root in (exports, broken, tmp_path / "nothing"):
        args = build_parser().parse_args(["simulate", "--append-day", "--out", str(root)])
        with pytest.raises(UsageError) as refused:
            args.handler(args)
        message = str(refused.value)
        assert str(root / "_truth" / "simulation.json") in message and "\n" not in message, message
    assert not (exports / "email").exists() and not (tmp_path / "nothing").exists()
