"""Staging normalization on the simulated world, checked against independent Python computations and truth."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from orchestration.ingestion.phones import to_e164


def test_every_pos_time_is_the_store_local_time_in_utc(world):
    rows = world.query("select local_time, store_tz, event_at from staging.stg_pos__transactions")
    assert rows and len({tz for _, tz, _ in rows}) == 3
    for local, zone, utc in rows:
        expected = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        assert utc == expected.replace(tzinfo=None), (local, zone)


def test_twilio_dates_are_utc(world):
    rows = world.query(
        "select r.record->>'$.date_sent', s.event_at from staging.stg_sms__messages s "
        "join raw.sms r on r._event_id = s.event_id and not r._is_duplicate"
    )
    assert rows
    for text, utc in rows:
        parsed = datetime.strptime(text, "%a, %d %b %Y %H:%M:%S %z").astimezone(UTC).replace(tzinfo=None)
        assert utc == parsed


@pytest.mark.parametrize(
    "model,column",
    [
        ("stg_orders__orders", "email"),
        ("stg_email__events", "email"),
        ("stg_pos__transactions", "email"),
        ("stg_support__tickets", "email"),
        ("stg_crm__customers", "email"),
    ],
)
def test_normalized_emails_are_the_truths_emails(world, model, column):
    truth = set(
        pd.read_parquet(world.truth / "identifiers.parquet").query("identifier_type == 'email'")["identifier_value"]
    )
    seen = {r[0] for r in world.query(f"select distinct {column} from staging.{model} where {column} is not null")}
    assert seen and seen <= truth, sorted(seen - truth)[:5]


@pytest.mark.parametrize(
    "model,raw,column",
    [
        ("stg_orders__orders", "phone_raw", "phone"),
        ("stg_pos__transactions", "phone_raw", "phone"),
        ("stg_sms__messages", "customer_phone_raw", "customer_phone"),
        ("stg_crm__customers", "phone_raw", "phone"),
    ],
)
def test_phones_as_typed_become_the_truths_e164(world, model, raw, column):
    truth = set(
        pd.read_parquet(world.truth / "identifiers.parquet").query("identifier_type == 'phone'")["identifier_value"]
    )
    rows = world.query(f"select distinct {raw}, {column} from staging.{model} where {raw} is not null")
    assert rows
    for typed, e164 in rows:
        assert e164 == to_e164(typed, "US"), typed
        assert e164 is None or e164 in truth, typed
    assert any(e is not None for _, e in rows)


def test_order_revenue_is_net_of_refunds_and_cancellations(world):
    truth = pd.read_parquet(world.truth / "purchases.parquet").query("purchase_channel != 'store'")
    staged = dict(world.query("select order_id, net_revenue::double from staging.stg_orders__orders"))
    assert staged
    expected = dict(zip(truth["order_ref"], truth["net_revenue"]))
    for order_id, revenue in staged.items():
        assert revenue == pytest.approx(expected[order_id], abs=0.005), order_id
