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
            column="status", value_set=["ok", "not_yet_synced", "error", "no_control_totals"]
        ),
        # Only what the sources count themselves: cross-system agreement has its own mart.
        gx.expectations.ExpectColumnValuesToBeInSet(column="metric_kind", value_set=["count", "sum"]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="abs_difference", min_value=0),
        # What `forget` erased is a number of real events, never a correction the other way. Erased money is
        # net of the person's refunds and returns, so a day of only a refund erases a negative amount.
        gx.expectations.ExpectColumnValuesToBeBetween(column="count_erased_value", min_value=0),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="event_date"),
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["source", "event_date", "metric_kind", "metric"]),
        # Counts and money the sources report are never negative; POS net takings can be, so sums are left out.
        gx.expectations.ExpectColumnValuesToBeBetween(column="count_control_value", min_value=0),
    ]


def _cross_system_agreement(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="status", value_set=["ok", "not_yet_synced", "warn", "error"]
        ),
        gx.expectations.ExpectColumnValuesToBeInSet(column="channel", value_set=["email", "sms", "push"]),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="event_date"),
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["channel", "event_date", "metric"]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="numerator", min_value=0),
        # A metric counts a part of its denominator.
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="denominator", column_B="numerator", or_equal=True
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(column="rate", min_value=0, max_value=1),
        gx.expectations.ExpectColumnValuesToBeBetween(column="max_rate", min_value=0, max_value=1),
        gx.expectations.ExpectColumnValuesToBeInSet(column="breach_severity", value_set=["warn", "error"]),
        # A flagged row is flagged with its own severity: only what matters can say error.
        gx.expectations.ExpectColumnValuesToBeNull(column="flag_not_its_severity"),
    ]


def _not_after(earlier: str, later: str) -> gx.expectations.Expectation:
    """`earlier` <= `later` wherever both are set."""
    return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=later, column_B=earlier, or_equal=True, ignore_row_if="either_value_is_missing"
    )


def _customer_identifier(identifier_types: Collection[str]) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gx.expectations.ExpectColumnValuesToMatchRegex(column="customer_id", regex=r"^cus_[0-9a-f]{20}$"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="identifier_type"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="identifier_type", value_set=list(identifier_types)),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="identifier_value"),
        gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=["identifier_type", "identifier_value", "ownership_period"]
        ),
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
        *[
            gx.expectations.ExpectColumnValuesToBeInSet(column=f"{channel}_consent", value_set=CONSENT_STATUSES)
            for channel in consent_channels
        ],
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
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="gross_revenue", column_B="revenue", or_equal=True
        ),
    ]


MART_SUITES = {
    "agg_sync_accuracy": Suite(
        table="marts.agg_sync_accuracy",
        batch_column=None,
        expectations=_sync_accuracy,
        columns="source, event_date::varchar as event_date, metric_kind, metric, status, abs_difference::double as "
        "abs_difference, case when metric_kind <> 'sum' then control_value::double end as count_control_value, "
        "case when metric_kind <> 'sum' then erased_value::double end as count_erased_value",
    ),
    "fct_conversion": Suite(
        table="marts.fct_conversion",
        batch_column="cast(converted_at as date)",  # the latest day of purchases
        expectations=_conversions,
        columns="conversion_id, purchase_channel, currency, revenue::double as revenue, "
        "gross_revenue::double as gross_revenue, refunded_revenue::double as refunded_revenue",
    ),
    "agg_cross_system_agreement": Suite(
        table="marts.agg_cross_system_agreement",
        batch_column=None,
        expectations=_cross_system_agreement,
        columns="channel, event_date::varchar as event_date, metric, numerator, denominator, rate, max_rate, "
        "breach_severity, status, case when status in ('warn', 'error') and status <> breach_severity "
        "then channel || ' ' || event_date || ' ' || metric end as flag_not_its_severity",
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


def mart_suites(
    *,
    engaged_channels: Collection[str],
    consent_channels: Collection[str],
    identifier_types: Collection[str],
    touchpoint_channels: Collection[str] = (),
    send_channels: Collection[str] = (),
) -> dict[str, Suite]:
    """Every mart suite: the registry-independent ones, and those of the identity, metrics and contact-policy marts
    for the registry given (`touchpoint_channels`: fct_touchpoint's channels; `send_channels`: the channels with a
    `sends` KPI; without them the metrics, respectively contact-policy, suites are left out)."""
    return {
        **MART_SUITES,
        "customer_identifier": customer_identifier_suite(identifier_types),
        "dim_customer": dim_customer_suite(engaged_channels, consent_channels),
        **(metrics_suites(touchpoint_channels) if touchpoint_channels else {}),
        **(contact_policy_suites(send_channels, consent_channels) if send_channels else {}),
    }


# ---- metrics marts (docs/metrics.md) ----------------------------------------------------------------------------
KPI_COUNTS = [
    "sends",
    "deliveries",
    "bounces",
    "opens",
    "unique_opens",
    "clicks",
    "replies",
    "unsubscribes",
    "spam_complaints",
]


def _daily_channel_kpis(channels: list[str]) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="event_date"),
        # Attribution credits a conversion with no touch in its window to 'direct'.
        gx.expectations.ExpectColumnValuesToBeInSet(column="channel", value_set=[*channels, "direct"]),
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["event_date", "channel", "campaign_key"]),
        *[gx.expectations.ExpectColumnValuesToBeBetween(column=kpi, min_value=0) for kpi in KPI_COUNTS],
        # A person is one unique open however often they open.
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="opens", column_B="unique_opens", or_equal=True
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(column="click_through_rate", min_value=0),
        # Rule-based credit is a share of a conversion, never negative (Shapley shares can be, so they are left out).
        gx.expectations.ExpectColumnValuesToBeBetween(column="conversions_linear", min_value=0),
        gx.expectations.ExpectColumnValuesToBeBetween(column="revenue_linear", min_value=0),
    ]


def _retention_cohort(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=["cohort_month", "engagement_tier", "months_since_first_purchase"]
        ),
        gx.expectations.ExpectColumnValuesToBeInSet(column="engagement_tier", value_set=["1", "2", "3+"]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="months_since_first_purchase", min_value=0),
        gx.expectations.ExpectColumnValuesToBeBetween(column="customers", min_value=1),
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="customers", column_B="retained", or_equal=True
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(column="retention_rate", min_value=0, max_value=1),
        # Everyone bought in their acquisition period.
        gx.expectations.ExpectColumnValuesToBeNull(column="acquisition_period_not_all_retained"),
    ]


def _omnichannel_impact(_: str) -> list[gx.expectations.Expectation]:
    shares = ["retention_rate", "open_rate", "click_rate", "conversion_rate"]
    return [
        gx.expectations.ExpectColumnValuesToBeUnique(column="engagement_group"),
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="engagement_group", value_set=["single_channel", "multi_channel"]
        ),
        *[gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1) for c in shares],
        gx.expectations.ExpectColumnValuesToBeBetween(column="touches_before_first_purchase", min_value=0),
        gx.expectations.ExpectColumnValuesToBeBetween(column="average_order_value", min_value=0),
    ]


def _shares(*columns: str) -> list[gx.expectations.Expectation]:
    return [gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1) for c in columns]


def _cross_channel_conversion(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeUnique(column="channel_set"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="channel_set"),
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="journeys", column_B="conversions", or_equal=True
        ),
        *_shares("conversion_rate", "share_of_conversions", "cross_channel_conversion_share"),
        # Every purchase is in exactly one channel set.
        gx.expectations.ExpectColumnSumToBeBetween(
            column="share_of_conversions", min_value=1 - 1e-9, max_value=1 + 1e-9
        ),
    ]


def _touches_before_purchase(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeUnique(column="touches"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="touches", min_value=0),
        *_shares("share_of_conversions", "cumulative_share"),
        gx.expectations.ExpectColumnValuesToBeIncreasing(column="cumulative_share", strictly=True),
    ]


def _research_purchase(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeUnique(column="direction"),
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="direction", value_set=["research_online_purchase_offline", "research_offline_purchase_online"]
        ),
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="purchases", column_B="researched_purchases", or_equal=True
        ),
        *_shares("researched_share"),
    ]


def _purchase_channel_switches(channels: list[str]) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["from_channel", "to_channel"]),
        gx.expectations.ExpectColumnValuesToBeInSet(column="from_channel", value_set=channels),
        gx.expectations.ExpectColumnValuesToBeInSet(column="to_channel", value_set=channels),
        gx.expectations.ExpectColumnValuesToBeBetween(column="transitions_before_purchase", min_value=1),
        gx.expectations.ExpectColumnValuesToBeBetween(column="switch_rank", min_value=1),
        *_shares("share_of_switches_before_purchase"),
    ]


def _customer_engagement(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeUnique(column="customer_id"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="time_zone"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="time_zone_source", value_set=["store", "phone", "default"]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="preferred_send_hour", min_value=0, max_value=23),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="preferred_send_hour"),
        *_shares("preferred_send_hour_probability", "active_week_share"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="channel_entropy", min_value=0),
    ]


# Attribution's models (fct_attribution.model; macro attribution_models) and the lifetime-value statuses
# (orchestration/metrics/clv.py STATUSES, without the back-test's own no_holdout_period).
ATTRIBUTION_MODELS = ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"]
PREDICTION_STATUSES = [
    "predicted",
    "too_few_repeat_customers",
    "purchase_model_failed",
    "spend_model_unavailable",
    "not_finite",
]


def _customer_lifetime_value(channels: list[str]) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="customer_id"),
        # The first touch of the first purchase's journey; 'direct' when it had none.
        gx.expectations.ExpectColumnValuesToBeInSet(column="acquisition_channel", value_set=[*channels, "direct"]),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="acquisition_channel"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="orders", min_value=1),
        gx.expectations.ExpectColumnValuesToBeBetween(column="frequency", min_value=0),
        # frequency counts the purchase days after the first; a mismatch names its customer.
        gx.expectations.ExpectColumnValuesToBeNull(column="frequency_not_repeat_days"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="historical_revenue", min_value=0),
        gx.expectations.ExpectColumnValuesToBeBetween(column="recency_days", min_value=0),
        _not_after("recency_days", "tenure_days"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="prediction_status", value_set=PREDICTION_STATUSES),
        # Predicted means every prediction is there; any other status means the value is missing for its reason.
        gx.expectations.ExpectColumnValuesToBeNull(column="status_contradicts_value"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="probability_alive", min_value=0, max_value=1),
        gx.expectations.ExpectColumnValuesToBeBetween(column="predicted_purchases_12m", min_value=0),
        gx.expectations.ExpectColumnValuesToBeBetween(column="predicted_average_value", min_value=0),
        gx.expectations.ExpectColumnValuesToBeBetween(column="predicted_value_12m", min_value=0),
        *[
            gx.expectations.ExpectColumnValuesToBeBetween(column=f"{score}_score", min_value=1, max_value=5)
            for score in ("recency", "frequency", "monetary")
        ],
        gx.expectations.ExpectColumnValuesToNotBeNull(column="rfm_segment"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="as_of_date"),
    ]


def _channel_lifetime_value(channels: list[str]) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeInSet(column="model", value_set=["acquisition", *ATTRIBUTION_MODELS]),
        gx.expectations.ExpectColumnValuesToBeInSet(column="channel", value_set=[*channels, "direct"]),
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["model", "channel"]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="customers", min_value=1),
        # Every customer is split whole under every model: the weights of a model add up to the customers.
        gx.expectations.ExpectColumnValuesToBeNull(column="model_not_summing_to_customers"),
    ]


def metrics_suites(touchpoint_channels: Collection[str]) -> dict[str, Suite]:
    """The metrics marts' suites, for fct_touchpoint's channels as the channel registry names them."""
    channels = sorted(set(touchpoint_channels))
    return {
        "agg_daily_channel_kpis": Suite(
            table="marts.agg_daily_channel_kpis",
            batch_column=None,
            expectations=lambda _: _daily_channel_kpis(channels),
            columns="event_date::varchar as event_date, channel, coalesce(campaign_id, '(none)') as campaign_key, "
            + ", ".join(f"{kpi}::bigint as {kpi}" for kpi in KPI_COUNTS)
            + ", click_through_rate, conversions_linear, revenue_linear::double as revenue_linear",
        ),
        "agg_retention_cohort": Suite(
            table="marts.agg_retention_cohort",
            batch_column=None,
            expectations=_retention_cohort,
            columns="cohort_month::varchar as cohort_month, engagement_tier, months_since_first_purchase, customers, "
            "retained, retention_rate, case when months_since_first_purchase = 0 and retained <> customers "
            "then cohort_month::varchar || ' ' || engagement_tier end as acquisition_period_not_all_retained",
        ),
        "agg_omnichannel_impact": Suite(
            table="marts.agg_omnichannel_impact",
            batch_column=None,
            expectations=_omnichannel_impact,
            columns="engagement_group, retention_rate, open_rate, click_rate, conversion_rate, "
            "touches_before_first_purchase::double as touches_before_first_purchase, "
            "average_order_value::double as average_order_value",
        ),
        "agg_cross_channel_conversion": Suite(
            table="marts.agg_cross_channel_conversion",
            batch_column=None,
            expectations=_cross_channel_conversion,
            columns="channel_set, journeys, conversions, conversion_rate, share_of_conversions, "
            "cross_channel_conversion_share",
        ),
        "customer_engagement": Suite(
            table="marts.customer_engagement",
            batch_column=None,
            expectations=_customer_engagement,
            columns="customer_id, time_zone, time_zone_source, preferred_send_hour, preferred_send_hour_probability, "
            "active_week_share, channel_entropy",
        ),
        "agg_touches_before_purchase": Suite(
            table="marts.agg_touches_before_purchase",
            batch_column=None,
            expectations=_touches_before_purchase,
            columns="touches, share_of_conversions, cumulative_share",
        ),
        "agg_research_purchase": Suite(
            table="marts.agg_research_purchase",
            batch_column=None,
            expectations=_research_purchase,
            columns="direction, purchases, researched_purchases, researched_share",
        ),
        "agg_purchase_channel_switches": Suite(
            table="marts.agg_purchase_channel_switches",
            batch_column=None,
            expectations=lambda _: _purchase_channel_switches(channels),
            columns="from_channel, to_channel, transitions_before_purchase::bigint as transitions_before_purchase, "
            "switch_rank, share_of_switches_before_purchase",
        ),
        "customer_lifetime_value": Suite(
            table="marts.customer_lifetime_value",
            batch_column=None,  # a snapshot as of the last purchase day, read whole
            expectations=lambda _: _customer_lifetime_value(channels),
            columns="customer_id, acquisition_channel, orders, frequency, historical_revenue::double as "
            "historical_revenue, recency_days, tenure_days, prediction_status, probability_alive, "
            "predicted_purchases_12m, predicted_average_value, predicted_value_12m, recency_score, frequency_score, "
            "monetary_score, rfm_segment, as_of_date::varchar as as_of_date, "
            "case when frequency <> purchase_days - 1 then customer_id end as frequency_not_repeat_days, "
            "case when (prediction_status = 'predicted') <> (predicted_value_12m is not null) "
            "or (prediction_status in ('predicted', 'spend_model_unavailable')) <> (probability_alive is not null) "
            "then customer_id end as status_contradicts_value",
        ),
        "agg_channel_lifetime_value": Suite(
            table="marts.agg_channel_lifetime_value",
            batch_column=None,
            expectations=lambda _: _channel_lifetime_value(channels),
            columns="model, channel, customers, "
            "case when abs(sum(customer_weight) over (partition by model) "
            "- (select count(*) from marts.customer_lifetime_value)) > 1e-6 then model end "
            "as model_not_summing_to_customers",
        ),
    }


# ---- contact-policy marts (docs/metrics.md, Message pressure and Consent compliance) ----------------------------
def contact_policy_suites(send_channels: Collection[str], consent_channels: Collection[str]) -> dict[str, Suite]:
    """The message pressure and consent marts' suites. They block on rows that are wrong (a message counted twice,
    a period ending before it starts, a rate outside 0..1), never on how many breaches or violations there are:
    those are findings to report, not bad data. `send_channels` (the registry's channels with a `sends` KPI)
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
            e.ExpectColumnValuesToBeInSet(
                column="violation_type", value_set=["cross_channel_cap", "channel_cap", "quiet_hours"]
            ),
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
            table="marts.fct_message_pressure",
            batch_column="message_date",
            expectations=pressure,
            columns="customer_id, channel, message_date::varchar as message_date, marketing_messages, "
            "transactional_messages, quiet_hour_messages, min_cross_channel_gap_minutes::double "
            "as min_cross_channel_gap_minutes",
        ),
        "fct_frequency_violation": Suite(
            table="marts.fct_frequency_violation",
            batch_column="violation_date",
            expectations=frequency,
            columns="violation_id, customer_id, channel, violation_type, messages_in_window, message_limit",
        ),
        "fct_consent": Suite(
            table="marts.fct_consent",
            batch_column=None,
            expectations=consent,
            columns="consent_period_id, customer_id, channel, status, valid_from, valid_to, "
            "case when is_current then 'current' else consent_period_id end as current_period",
        ),
        "fct_preference_violation": Suite(
            table="marts.fct_preference_violation",
            batch_column="violation_date",
            expectations=preference,
            columns="touchpoint_id, customer_id, channel, opted_out_at, sent_at",
        ),
        "agg_preference_compliance": Suite(
            table="marts.agg_preference_compliance",
            batch_column=None,
            expectations=compliance,
            columns="channel, message_date::varchar as message_date, marketing_messages, violating_messages, "
            "compliance_rate::double as compliance_rate",
        ),
    }
