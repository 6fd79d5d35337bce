"""BG/NBD and Gamma-Gamma predictions per purchasing customer (dbt Python model; orchestration/metrics/clv.py)."""

from orchestration.metrics.clv import DAYS_PER_MONTH, predict_lifetime_value


def model(dbt, session):
    dbt.config(materialized="table")
    summary = dbt.ref("int_customer_purchase_summary").df()
    horizon_days = float(dbt.config.get("horizon_months")) * DAYS_PER_MONTH
    return predict_lifetime_value(summary, horizon_days, int(dbt.config.get("min_repeat_customers")))
