"""Marts layer: what BI reads. Each mart gains a suite as it lands."""
from collections.abc import Collection

import great_expectations as gx

from data_quality.suites import Suite
from data_quality.suites.staging import E164, EMAIL

EMAIL_STATUSES = ["valid", "role", "disposable", "typo", "invalid"]
CONSENT_STATUSES = ["opt_in", "opt_out"]


def _sync_accuracy(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="status", value_set=["ok", "not_yet_synced", "error", "no_control_totals",
                                        "consent_violation"]),
        gx.expectations.ExpectColumnValuesToBeInSet(column="metric_kind", value_set=["count", "sum", "consent", "identity"]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="abs_difference", min_value=0),
        # What `forget` erased is a count or an amount of real events, never a correction the other way.
        gx.expectations.ExpectColumnValuesToBeBetween(column="erased_value", min_value=0),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="event_date"),
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["source", "event_date", "metric_kind", "metric"]),
        # Counts and money the sources report are never negative; POS net takings can be, so sums are left out.
        gx.expectations.ExpectColumnValuesToBeBetween(column="count_control_value", min_value=0),
    ]


def _not_after(earlier: str, later: str) -> gx.expectations.Expectation:
    """`earlier` <= `later` wherever both are set."""
    return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=later, column_B=earlier, or_equal=True, ignore_row_if="either_value_is_missing")


def _customer_identifier(identifier_types: Collection[str]) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gx.expectations.ExpectColumnValuesToMatchRegex(column="customer_id", regex=r"^cus_[0-9a-f]{20}$"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="identifier_type"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="identifier_type",
                                                    value_set=list(identifier_types)),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="identifier_value"),
        gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=["identifier_type", "identifier_value", "ownership_period"]),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="first_seen_at"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="last_seen_at"),
        _not_after("first_seen_at", "last_seen_at"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="is_shared"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="ownership_period", min_value=1),
        # Only phones change hands; every other identifier has one period, open at both ends.
        gx.expectations.ExpectColumnValuesToBeNull(column="non_phone_with_period"),
        # The first owner's period starts with the number; every later one starts when its owner took over.
        gx.expectations.ExpectColumnValuesToBeNull(column="first_period_with_start"),
        gx.expectations.ExpectColumnValuesToBeNull(column="later_period_without_start"),
        _not_after("valid_from", "valid_to"),
    ]


def _dim_customer(engaged: Collection[str], consent_channels: Collection[str]) -> list[gx.expectations.Expectation]:
    """`engaged`: the channels dim_customer.channels_engaged can name; `consent_channels`: those with a
    <channel>_consent column. Both come from the channel registry, which the pipeline passes in."""
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="customer_id"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="email_status", value_set=EMAIL_STATUSES),
        # A primary email always went through verification.
        gx.expectations.ExpectColumnValuesToBeNull(column="unverified_primary_email"),
        # Mistyped addresses are kept (email_status says typo or invalid); most must still look like addresses.
        gx.expectations.ExpectColumnValuesToMatchRegex(column="primary_email", regex=EMAIL, mostly=0.95),
        gx.expectations.ExpectColumnValuesToMatchRegex(column="primary_phone", regex=E164),
        gx.expectations.ExpectColumnValuesToBeBetween(column="identifiers", min_value=1),
        gx.expectations.ExpectColumnValuesToBeBetween(column="channel_count", min_value=0, max_value=len(engaged)),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="first_seen_at"),
        _not_after("first_seen_at", "last_seen_at"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="age_years", min_value=0, max_value=120),
        *[gx.expectations.ExpectColumnValuesToBeInSet(column=f"{channel}_consent", value_set=CONSENT_STATUSES)
          for channel in consent_channels],
    ]


def _conversions(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="conversion_id"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="conversion_id"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="purchase_channel", value_set=["web", "app", "store"]),
        gx.expectations.ExpectColumnValuesToMatchRegex(column="currency", regex=r"^[A-Z]{3}$"),
        # Net revenue is what is left of the purchase after cancellation, refunds and returns: never below 0.
        gx.expectations.ExpectColumnValuesToBeBetween(column="revenue", min_value=0),
        gx.expectations.ExpectColumnValuesToBeBetween(column="refunded_revenue", min_value=0),
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(column_A="gross_revenue", column_B="revenue",
                                                                or_equal=True),
    ]


MART_SUITES = {
    "agg_sync_accuracy": Suite(
        table="marts.agg_sync_accuracy",
        batch_column=None,
        expectations=_sync_accuracy,
        columns="source, event_date::varchar as event_date, metric_kind, metric, status, abs_difference::double as "
                "abs_difference, case when metric_kind <> 'sum' then control_value::double end as count_control_value, "
                "erased_value::double as erased_value",
    ),
    "fct_conversion": Suite(
        table="marts.fct_conversion",
        batch_column="cast(converted_at as date)",  # the latest day of purchases
        expectations=_conversions,
        columns="conversion_id, purchase_channel, currency, revenue::double as revenue, "
                "gross_revenue::double as gross_revenue, refunded_revenue::double as refunded_revenue",
    ),
}


def customer_identifier_suite(identifier_types: Collection[str]) -> Suite:
    """The identity mart's suite, for the identifier types the registry names. Read whole: uniqueness only means
    something over the whole table."""
    types = sorted(set(identifier_types))
    return Suite(
        table="marts.customer_identifier",
        batch_column=None,
        expectations=lambda _: _customer_identifier(types),
        columns="customer_id, identifier_type, identifier_value, ownership_period, first_seen_at, last_seen_at, "
                "is_shared, valid_from, valid_to, "
                # Rule-breaking rows name their identifier here, so a failure shows which ones.
                "case when identifier_type <> 'phone' and (ownership_period <> 1 or valid_from is not null "
                "or valid_to is not null) then identifier_value end as non_phone_with_period, "
                "case when ownership_period = 1 and valid_from is not null then identifier_value end "
                "as first_period_with_start, "
                "case when ownership_period > 1 and valid_from is null then identifier_value end "
                "as later_period_without_start",
    )


def dim_customer_suite(engaged_channels: Collection[str], consent_channels: Collection[str]) -> Suite:
    """The golden profile's suite, for the channels the registry names (quality holds no channel list of its own)."""
    engaged, consents = sorted(set(engaged_channels)), sorted(set(consent_channels))
    return Suite(
        table="marts.dim_customer",
        batch_column=None,
        expectations=lambda _: _dim_customer(engaged, consents),
        columns="customer_id, email_status, primary_email, primary_phone, identifiers, channel_count, first_seen_at, "
                "last_seen_at, date_diff('year', birth_date, current_date) as age_years, "
                # Every <channel>_consent column: one per consent channel of the channel registry.
                "columns('_consent$'), "
                "case when email_status is null then primary_email end as unverified_primary_email",
    )


def contact_policy_suites(send_channels: Collection[str], consent_channels: Collection[str]) -> dict[str, Suite]:
    """The message pressure and consent marts' suites. They block on rows that are wrong (a message counted twice,
    a period ending before it starts, a rate outside 0..1), never on how many breaches or violations there are:
    those are findings to report, not bad data. `send_channels` (the registry's channels with touchpoints.sends)
    and `consent_channels` come from the channel registry, passed in by the pipeline."""
    sends, consents = sorted(set(send_channels)), sorted(set(consent_channels))
    e = gx.expectations

    def pressure(_: str) -> list[gx.expectations.Expectation]:
        return [
            e.ExpectColumnValuesToNotBeNull(column="customer_id"),
            e.ExpectColumnValuesToBeInSet(column="channel", value_set=sends),
            e.ExpectCompoundColumnsToBeUnique(column_list=["customer_id", "message_date", "channel"]),
            e.ExpectColumnValuesToBeBetween(column="marketing_messages", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="transactional_messages", min_value=0),
            _not_after("quiet_hour_messages", "marketing_messages"),
            e.ExpectColumnValuesToBeBetween(column="min_cross_channel_gap_minutes", min_value=0),
        ]

    def frequency(_: str) -> list[gx.expectations.Expectation]:
        return [
            e.ExpectColumnValuesToBeUnique(column="violation_id"),
            e.ExpectColumnValuesToNotBeNull(column="customer_id"),
            e.ExpectColumnValuesToBeInSet(column="channel", value_set=sends),
            e.ExpectColumnValuesToBeInSet(column="violation_type",
                                          value_set=["cross_channel_cap", "channel_cap", "quiet_hours"]),
            # A cap breach is more messages in the window than the limit; the breaching message is one of them.
            e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="messages_in_window", column_B="message_limit"),
        ]

    def consent(_: str) -> list[gx.expectations.Expectation]:
        return [
            e.ExpectColumnValuesToBeUnique(column="consent_period_id"),
            e.ExpectColumnValuesToNotBeNull(column="customer_id"),
            e.ExpectColumnValuesToBeInSet(column="channel", value_set=consents),
            e.ExpectColumnValuesToBeInSet(column="status", value_set=CONSENT_STATUSES),
            e.ExpectColumnValuesToNotBeNull(column="valid_from"),
            _not_after("valid_from", "valid_to"),
            # One current period per customer and channel.
            e.ExpectCompoundColumnsToBeUnique(column_list=["customer_id", "channel", "current_period"]),
        ]

    def preference(_: str) -> list[gx.expectations.Expectation]:
        return [
            e.ExpectColumnValuesToBeUnique(column="touchpoint_id"),
            e.ExpectColumnValuesToNotBeNull(column="customer_id"),
            e.ExpectColumnValuesToBeInSet(column="channel", value_set=consents),
            _not_after("opted_out_at", "sent_at"),
        ]

    def compliance(_: str) -> list[gx.expectations.Expectation]:
        return [
            e.ExpectColumnValuesToBeInSet(column="channel", value_set=sends),
            e.ExpectCompoundColumnsToBeUnique(column_list=["channel", "message_date"]),
            e.ExpectColumnValuesToBeBetween(column="compliance_rate", min_value=0, max_value=1),
            _not_after("violating_messages", "marketing_messages"),
        ]

    return {
        "fct_message_pressure": Suite(
            table="marts.fct_message_pressure", batch_column="message_date", expectations=pressure,
            columns="customer_id, channel, message_date::varchar as message_date, marketing_messages, "
                    "transactional_messages, quiet_hour_messages, min_cross_channel_gap_minutes::double "
                    "as min_cross_channel_gap_minutes"),
        "fct_frequency_violation": Suite(
            table="marts.fct_frequency_violation", batch_column="violation_date", expectations=frequency,
            columns="violation_id, customer_id, channel, violation_type, messages_in_window, message_limit"),
        "fct_consent": Suite(
            table="marts.fct_consent", batch_column=None, expectations=consent,
            columns="consent_period_id, customer_id, channel, status, valid_from, valid_to, "
                    "case when is_current then 'current' else consent_period_id end as current_period"),
        "fct_preference_violation": Suite(
            table="marts.fct_preference_violation", batch_column="violation_date", expectations=preference,
            columns="touchpoint_id, customer_id, channel, opted_out_at, sent_at"),
        "agg_preference_compliance": Suite(
            table="marts.agg_preference_compliance", batch_column=None, expectations=compliance,
            columns="channel, message_date::varchar as message_date, marketing_messages, violating_messages, "
                    "compliance_rate::double as compliance_rate"),
    }


def mart_suites(*, engaged_channels: Collection[str], consent_channels: Collection[str],
                identifier_types: Collection[str], send_channels: Collection[str] = ()) -> dict[str, Suite]:
    """Every mart suite: the registry-independent ones, and those of the identity and contact-policy marts for the
    registry given (the contact-policy suites only when `send_channels` names the channels that send)."""
    suites = {**MART_SUITES, "customer_identifier": customer_identifier_suite(identifier_types),
              "dim_customer": dim_customer_suite(engaged_channels, consent_channels)}
    if send_channels:
        suites |= contact_policy_suites(send_channels, consent_channels)
    return suites
