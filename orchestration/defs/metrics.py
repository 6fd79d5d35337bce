"""Asset checks on the metrics marts: the lifetime-value back-test.

The back-test warns and never blocks: a forecast that misses the holdout is worth watching (the world changed, the
history is short), but the marts it sits beside are no less correct for it, so publication goes on.
"""

import json

import dagster as dg

from orchestration.defs.resources import Warehouse
from orchestration.metrics.clv import backtest_report

BACKTEST_CHECK = "clv_backtest"
LIFETIME_VALUE_ASSET = dg.AssetKey(["marts", "customer_lifetime_value"])
BACKTEST_PREDICTIONS = dg.AssetKey(["intermediate", "int_clv_backtest_predictions"])

_BY_FREQUENCY_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("calibration_repeat_purchases", "string"),
        dg.TableColumn("customers", "int"),
        dg.TableColumn("mean_predicted", "float"),
        dg.TableColumn("mean_actual", "float"),
        dg.TableColumn("predicted_total", "float"),
        dg.TableColumn("actual_total", "int"),
    ]
)


@dg.asset_check(
    asset=LIFETIME_VALUE_ASSET,
    name=BACKTEST_CHECK,
    additional_deps=[BACKTEST_PREDICTIONS],
    blocking=False,
    description="BG/NBD fitted on the calibration history predicts the holdout's purchases",
)
def clv_backtest(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Warns when the predicted holdout purchases miss the actual total by more than the tolerated share."""
    with warehouse.get_connection() as con:
        rows = con.execute("select * from intermediate.int_clv_backtest_predictions").df()
    if rows.empty:
        return dg.AssetCheckResult(
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description="not back-tested: no customer had bought by the calibration date",
        )
    # The settings the build used (dbt vars) travel on every row of the back-test.
    settings = rows.iloc[0]
    tolerated = float(settings["tolerated_total_error"])
    report = backtest_report(rows, int(settings["frequency_cap"]))
    metadata = {
        "customers": report.customers,
        "customers_predicted": report.predicted_customers,
        "calibration_end": str(settings["calibration_end"]),
        "holdout_days": int(settings["holdout_days"]),
        "actual_holdout_purchases": report.actual_total,
        "model_fit": dg.MetadataValue.json(json.loads(settings["model_fit"])),
    }
    if report.mae is None:
        return dg.AssetCheckResult(
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=metadata,
            description=f"not back-tested: {settings['prediction_note']}",
        )
    metadata.update(
        {
            "mae": report.mae,
            "predicted_holdout_purchases": report.predicted_total,
            "relative_total_error": report.relative_total_error,
            "tolerated_total_error": tolerated,
            "by_calibration_frequency": dg.MetadataValue.table(
                records=[dg.TableRecord(row) for row in report.by_frequency], schema=_BY_FREQUENCY_SCHEMA
            ),
        }
    )
    within = report.relative_total_error is None or report.relative_total_error <= tolerated
    summary = (
        f"holdout purchase days predicted {report.predicted_total:.1f}, actual {report.actual_total}; "
        f"MAE {report.mae:.3f} per customer"
    )
    return dg.AssetCheckResult(
        passed=within,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=summary if within else f"{summary}: off by more than {tolerated:.0%}",
    )
