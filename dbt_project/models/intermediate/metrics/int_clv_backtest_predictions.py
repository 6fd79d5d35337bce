"""The lifetime-value back-test: fitted on the calibration history, each customer's holdout purchases predicted
beside the actual ones (dbt Python model; orchestration/metrics/clv.py)."""

from orchestration.metrics.clv import backtest_predictions


def model(dbt, session):
    dbt.config(materialized="table")
    backtest = dbt.ref("int_clv_backtest_summary").df()
    return backtest_predictions(backtest, int(dbt.config.get("min_repeat_customers")))
