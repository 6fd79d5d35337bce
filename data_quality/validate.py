"""Reads a suite's bounded batch out of the warehouse and validates it; the glue asset checks call."""
from pathlib import Path

import dagster as dg
import duckdb

from data_quality.gx_runner import SuiteOutcome, SuiteRunner
from data_quality.suites import Suite


def validate_batch(con: duckdb.DuckDBPyConnection, runner: SuiteRunner, suite: Suite, batch_key: str) -> SuiteOutcome:
    frame = con.execute(suite.batch_sql(), [batch_key]).df()
    return runner.validate(suite.table, batch_key, frame, suite.expectations(batch_key))


def check_result(outcome: SuiteOutcome, asset_key: dg.AssetKey, check_name: str, docs: Path) -> dg.AssetCheckResult:
    """A Dagster check result whose metadata shows each failed expectation with examples."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=outcome.success,
        metadata={
            "batch": outcome.batch,
            "rows": outcome.rows,
            "expectations": outcome.evaluated,
            "failures": dg.MetadataValue.json([f.describe() for f in outcome.failures]),
            "data_docs": dg.MetadataValue.path(str(docs)),
        },
    )
