"""Reads a suite's bounded batch out of the warehouse and validates it; the asset checks turn the outcome into
Dagster results (`orchestration/defs/quality.py`): nothing here knows Dagster."""

import duckdb

from data_quality.gx_runner import SuiteOutcome, SuiteRunner
from data_quality.suites import Suite


def validate_batch(con: duckdb.DuckDBPyConnection, runner: SuiteRunner, suite: Suite, batch_key: str) -> SuiteOutcome:
    frame = con.execute(suite.batch_sql(), [batch_key]).df()
    return runner.validate(suite.table, batch_key, frame, suite.expectations(batch_key), suite.parameters(batch_key))
