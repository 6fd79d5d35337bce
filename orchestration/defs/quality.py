"""Blocking asset checks on the dbt models: great-expectations suites and sync accuracy."""
from datetime import date
from pathlib import Path

import dagster as dg

from data_quality.gx_runner import SuiteOutcome, SuiteRunner
from data_quality.suites.marts import mart_suites
from data_quality.suites.staging import STAGING_SUITES
from data_quality.sync_accuracy import sync_failures
from data_quality.validate import validate_batch
from orchestration.channels import registry
from orchestration.defs.resources import DataDocs, Warehouse

GX_CHECK = "gx_suite"
SYNC_CHECK = "sync_accuracy"
SYNC_ASSET = dg.AssetKey(["marts", "agg_sync_accuracy"])


MART_SUITES = mart_suites(engaged_channels=set(registry().engaged_channel_by_source().values()),
                          consent_channels=registry().consent_channels(), identifier_types=registry().identifier_types,
                          send_channels=list(registry().send_touches()))
SUITES = {("staging", model): suite for model, suite in STAGING_SUITES.items()} | {
    ("marts", model): suite for model, suite in MART_SUITES.items()}


def suite_check_result(outcome: SuiteOutcome, asset_key: dg.AssetKey, check_name: str,
                       docs: Path) -> dg.AssetCheckResult:
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


def _batch_key(con, suite) -> str:
    """The bounded batch a suite validates: the latest delivery day, or the whole of a small aggregate."""
    if suite.batch_column is None:
        return "all"
    latest = con.execute(f"select max({suite.batch_column})::varchar from {suite.table}").fetchall()[0][0]
    return latest or date.min.isoformat()


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(GX_CHECK, asset=dg.AssetKey(list(key)), blocking=True,
                             description="great-expectations suite on the latest batch")
           for key in SUITES],
    can_subset=True,
)
def gx_suites(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, data_docs: DataDocs):
    """Runs the staging and mart GX suites on their latest batch and builds the Data Docs site."""
    runner = SuiteRunner(data_docs.folder)
    with warehouse.get_connection() as con:
        for key in context.selected_asset_check_keys:
            suite = SUITES[tuple(key.asset_key.path)]
            outcome = validate_batch(con, runner, suite, _batch_key(con, suite))
            yield suite_check_result(outcome, key.asset_key, GX_CHECK, runner.docs_index)
    runner.build_docs()


@dg.asset_check(asset=SYNC_ASSET, name=SYNC_CHECK, blocking=True,
                description="control totals agree with the warehouse for every settled source and day")
def sync_accuracy(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Fails, naming each source and day, when a settled day disagrees with its source's control totals."""
    with warehouse.get_connection() as con:
        failures, summary = sync_failures(con)
    return dg.AssetCheckResult(
        passed=not failures,
        metadata={
            "failing": dg.MetadataValue.json(failures[:50]),
            "failing_source_days": sorted({f"{f['source']} {f['event_date']}" for f in failures}),
            **summary,
        },
        description=("; ".join(sorted({f"{f['source']} {f['event_date']}" for f in failures}))[:500]
                     or "every settled source and day agrees with its control totals"),
    )
