"""Staging layer: typed, deduplicated, normalized. Validated on the latest delivery day's rows."""

import great_expectations as gx

from data_quality.suites import Suite

E164 = r"^\+[1-9][0-9]{7,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Late events arrive up to a few days after they happen; anything older than this is a clock or parsing fault.
MAX_LATENESS_DAYS = 14


def _common(day: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="event_id"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="event_id"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="event_at"),
        # Timestamps inside the partition's window: not after delivery, not absurdly before it.
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="days_before_delivery", min_value=0, max_value=MAX_LATENESS_DAYS
        ),
    ]


def _email(column: str) -> gx.expectations.Expectation:
    # Real customer lists hold some mistyped addresses; most must still look like addresses.
    return gx.expectations.ExpectColumnValuesToMatchRegex(column=column, regex=EMAIL, mostly=0.95)


def _phone(column: str) -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnValuesToMatchRegex(column=column, regex=E164)


def _suite(model: str, extra, columns: str) -> Suite:
    return Suite(
        table=f"staging.{model}",
        batch_column="delivery_date",
        expectations=lambda day: _common(day) + extra(),
        columns=f"event_id, event_at, date_diff('day', cast(event_at as date), delivery_date) as days_before_delivery, "
        f"{columns}",
    )


STAGING_SUITES = {
    "stg_email__events": _suite(
        "stg_email__events",
        lambda: [
            _email("email"),
            gx.expectations.ExpectColumnValuesToBeInSet(
                column="event_type",
                value_set=[
                    "processed",
                    "delivered",
                    "deferred",
                    "bounce",
                    "dropped",
                    "open",
                    "click",
                    "unsubscribe",
                    "group_unsubscribe",
                    "group_resubscribe",
                    "spamreport",
                ],
            ),
        ],
        "email, event_type",
    ),
    "stg_sms__messages": _suite(
        "stg_sms__messages",
        lambda: [
            _phone("customer_phone"),
            gx.expectations.ExpectColumnValuesToBeInSet(
                column="status", value_set=["queued", "sent", "delivered", "undelivered", "failed", "received"]
            ),
        ],
        "customer_phone, status",
    ),
    "stg_web__events": _suite(
        "stg_web__events",
        lambda: [
            _email("email"),
            _phone("phone"),
            gx.expectations.ExpectColumnValuesToBeInSet(
                column="event_type", value_set=["page", "track", "identify", "screen", "alias"]
            ),
            gx.expectations.ExpectColumnValuesToBeBetween(column="revenue", min_value=0),
        ],
        "email, phone, event_type, revenue",
    ),
    "stg_orders__order_versions": _suite(
        "stg_orders__order_versions",
        lambda: [
            _email("email"),
            _phone("phone"),
            gx.expectations.ExpectColumnValuesToBeBetween(column="total_price", min_value=0),
            gx.expectations.ExpectColumnValuesToBeBetween(column="refunded_amount", min_value=0),
        ],
        "email, phone, total_price, refunded_amount",
    ),
    "stg_pos__transactions": _suite(
        "stg_pos__transactions",
        lambda: [
            _phone("phone"),
            gx.expectations.ExpectColumnValuesToBeInSet(column="transaction_type", value_set=["sale", "return"]),
            gx.expectations.ExpectColumnValuesToBeBetween(column="total_cents", min_value=0),
        ],
        "phone, transaction_type, total_cents",
    ),
}
