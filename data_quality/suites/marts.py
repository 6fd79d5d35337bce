"""Marts layer: what BI reads. Each mart gains a suite as it lands."""
import great_expectations as gx

from data_quality.suites import Suite
from data_quality.suites.staging import E164, EMAIL

IDENTIFIER_TYPES = ["email", "phone", "cookie", "device", "push_player", "crm_id", "shop_customer_id", "loyalty_id",
                    "social_handle", "click_id"]
EMAIL_STATUSES = ["valid", "role", "disposable", "typo", "invalid"]
CONSENT_STATUSES = ["opt_in", "opt_out"]
# email, sms, push, web, app, ads, social, store, support: the channels dim_customer.channels_engaged can name.
CHANNELS = 9
CHANNEL_NAMES = ["email", "sms", "push", "web", "app", "ads", "social", "store", "support"]
ATTRIBUTION_MODELS = ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"]
PREDICTION_STATUSES = ["predicted", "too_few_repeat_customers", "purchase_model_failed", "spend_model_unavailable",
                       "not_finite"]


def _sync_accuracy(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="status", value_set=["ok", "not_yet_synced", "error", "no_control_totals"]),
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


def _customer_identifier(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gx.expectations.ExpectColumnValuesToMatchRegex(column="customer_id", regex=r"^cus_[0-9a-f]{20}$"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="identifier_type"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="identifier_type", value_set=IDENTIFIER_TYPES),
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


def _dim_customer(_: str) -> list[gx.expectations.Expectation]:
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
        gx.expectations.ExpectColumnValuesToBeBetween(column="channel_count", min_value=0, max_value=CHANNELS),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="first_seen_at"),
        _not_after("first_seen_at", "last_seen_at"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="age_years", min_value=0, max_value=120),
        *[gx.expectations.ExpectColumnValuesToBeInSet(column=f"{channel}_consent", value_set=CONSENT_STATUSES)
          for channel in ("email", "sms", "push", "ads")],
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


def _customer_lifetime_value(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="customer_id"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="acquisition_channel", value_set=[*CHANNEL_NAMES, "direct"]),
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
        *[gx.expectations.ExpectColumnValuesToBeBetween(column=f"{score}_score", min_value=1, max_value=5)
          for score in ("recency", "frequency", "monetary")],
        gx.expectations.ExpectColumnValuesToNotBeNull(column="rfm_segment"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="as_of_date"),
    ]


def _channel_lifetime_value(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeInSet(column="model", value_set=["acquisition", *ATTRIBUTION_MODELS]),
        gx.expectations.ExpectColumnValuesToBeInSet(column="channel", value_set=[*CHANNEL_NAMES, "direct"]),
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["model", "channel"]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="customers", min_value=1),
        # Every customer is split whole under every model: the weights of a model add up to the customers.
        gx.expectations.ExpectColumnValuesToBeNull(column="model_not_summing_to_customers"),
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
    # Both read whole: uniqueness only means something over the whole table.
    "customer_identifier": Suite(
        table="marts.customer_identifier",
        batch_column=None,
        expectations=_customer_identifier,
        columns="customer_id, identifier_type, identifier_value, ownership_period, first_seen_at, last_seen_at, "
                "is_shared, valid_from, valid_to, "
                # Rule-breaking rows name their identifier here, so a failure shows which ones.
                "case when identifier_type <> 'phone' and (ownership_period <> 1 or valid_from is not null "
                "or valid_to is not null) then identifier_value end as non_phone_with_period, "
                "case when ownership_period = 1 and valid_from is not null then identifier_value end "
                "as first_period_with_start, "
                "case when ownership_period > 1 and valid_from is null then identifier_value end "
                "as later_period_without_start",
    ),
    "dim_customer": Suite(
        table="marts.dim_customer",
        batch_column=None,
        expectations=_dim_customer,
        columns="customer_id, email_status, primary_email, primary_phone, identifiers, channel_count, first_seen_at, "
                "last_seen_at, date_diff('year', birth_date, current_date) as age_years, "
                "email_consent, sms_consent, push_consent, ads_consent, "
                "case when email_status is null then primary_email end as unverified_primary_email",
    ),
    "customer_lifetime_value": Suite(
        table="marts.customer_lifetime_value",
        batch_column=None,  # a snapshot as of the last purchase day, read whole
        expectations=_customer_lifetime_value,
        columns="customer_id, acquisition_channel, orders, frequency, historical_revenue::double as historical_revenue, "
                "recency_days, tenure_days, prediction_status, probability_alive, predicted_purchases_12m, "
                "predicted_average_value, predicted_value_12m, recency_score, frequency_score, monetary_score, "
                "rfm_segment, as_of_date::varchar as as_of_date, "
                "case when frequency <> purchase_days - 1 then customer_id end as frequency_not_repeat_days, "
                "case when (prediction_status = 'predicted') <> (predicted_value_12m is not null) "
                "or (prediction_status in ('predicted', 'spend_model_unavailable')) <> (probability_alive is not null) "
                "then customer_id end as status_contradicts_value",
    ),
    "agg_channel_lifetime_value": Suite(
        table="marts.agg_channel_lifetime_value",
        batch_column=None,
        expectations=_channel_lifetime_value,
        columns="model, channel, customers, "
                "case when abs(sum(customer_weight) over (partition by model) "
                "- (select count(*) from marts.customer_lifetime_value)) > 1e-6 then model end "
                "as model_not_summing_to_customers",
    ),
    "fct_conversion": Suite(
        table="marts.fct_conversion",
        batch_column="cast(converted_at as date)",  # the latest day of purchases
        expectations=_conversions,
        columns="conversion_id, purchase_channel, currency, revenue::double as revenue, "
                "gross_revenue::double as gross_revenue, refunded_revenue::double as refunded_revenue",
    ),
}
