"""Reads a suite's bounded batch out of the warehouse and validates it; the asset checks turn the outcome into
Dagster results (`orchestration/defs/quality.py`): nothing here knows Dagster."""

import dataclasses
from collections.abc import Callable, Sequence

import duckdb

from data_quality.gx_runner import SuiteOutcome, SuiteRunner
from data_quality.suites import Suite


def range_name(first: str, last: str) -> str:
    """The batch name of days validated together, which names their Data Docs page.

    Not `first..last`: GX's page renderer parses every run name with dateutil, which reads "2026-03-01..2026-03-29"
    as a time with a -29 h offset and fails rendering that page ("offset must be a timedelta strictly between
    -timedelta(hours=24) and timedelta(hours=24)") for any range ending on the 24th or later.
    """
    return f"{first}_to_{last}"


def validate_batch(con: duckdb.DuckDBPyConnection, runner: SuiteRunner, suite: Suite, batch_key: str) -> SuiteOutcome:
    frame = con.execute(suite.batch_sql(), [batch_key]).df()
    return runner.validate(suite.table, batch_key, frame, suite.expectations(batch_key), suite.parameters(batch_key))


def _combinable(suite: Suite, batch_keys: Sequence[str]) -> bool:
    """Whether one validation of the batches together says what validating each would: the same expectations
    for every batch, the batch key their only parameter (a set, so that the union's is the keys' union)."""
    if suite.batch_column is None or len(batch_keys) < 2:
        return False
    first = [type(e).__name__ + e.json(exclude={"id"}) for e in suite.expectations(batch_keys[0])]
    return all(
        suite.parameters(key) == {"batch_key_set": [key]}
        and [type(e).__name__ + e.json(exclude={"id"}) for e in suite.expectations(key)] == first
        for key in batch_keys
    )


def validate_batches(
    con: duckdb.DuckDBPyConnection,
    runner: SuiteRunner,
    suite: Suite,
    batch_keys: Sequence[str],
    validate_one: Callable[[duckdb.DuckDBPyConnection, SuiteRunner, Suite, str], SuiteOutcome] = validate_batch,
) -> dict[str, SuiteOutcome]:
    """Each batch's outcome, from one validation of all of them together when that passes.

    GX costs about a tenth of a second per validation whatever the rows, so a range of days loaded in one step is
    validated once. For suites whose expectations hold per row or say that a column is unique (the raw suites),
    the union passing means each batch passes; when it fails, each batch is validated on its own (`validate_one`)
    so that the days that failed, and only they, are named. Every batch of a passing union links to its page.
    """
    keys = list(dict.fromkeys(batch_keys))
    if not _combinable(suite, keys):
        return {key: validate_one(con, runner, suite, key) for key in keys}
    where = f"{suite.batch_column}::varchar in (select unnest(?::varchar[]))"
    frame = con.execute(f"select {suite.columns} from {suite.table} where {where}", [keys]).df()
    together = runner.validate(
        suite.table, range_name(min(keys), max(keys)), frame, suite.expectations(keys[0]), {"batch_key_set": keys}
    )
    if not together.success:
        return {key: validate_one(con, runner, suite, key) for key in keys}
    rows = dict(
        con.execute(
            f"select {suite.batch_column}::varchar, count(*) from {suite.table} where {where} group by all", [keys]
        ).fetchall()
    )
    return {key: dataclasses.replace(together, batch=key, rows=rows.get(key, 0)) for key in keys}
