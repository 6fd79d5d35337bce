"""Marts layer: what BI reads. Each mart gains a suite as it lands."""
import great_expectations as gx

from data_quality.suites import Suite


def _sync_accuracy(_: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="status", value_set=["ok", "not_yet_synced", "error", "no_control_totals"]),
        gx.expectations.ExpectColumnValuesToBeInSet(column="metric_kind", value_set=["count", "sum", "consent", "identity"]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="abs_difference", min_value=0),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="event_date"),
        gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["source", "event_date", "metric_kind", "metric"]),
        # Counts and money the sources report are never negative; POS net takings can be, so sums are left out.
        gx.expectations.ExpectColumnValuesToBeBetween(column="count_control_value", min_value=0),
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
                "abs_difference, case when metric_kind <> 'sum' then control_value::double end as count_control_value",
    ),
    "fct_conversion": Suite(
        table="marts.fct_conversion",
        batch_column="cast(converted_at as date)",  # the latest day of purchases
        expectations=_conversions,
        columns="conversion_id, purchase_channel, currency, revenue::double as revenue, "
                "gross_revenue::double as gross_revenue, refunded_revenue::double as refunded_revenue",
    ),
}
