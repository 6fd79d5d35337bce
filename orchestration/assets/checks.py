"""Blocking asset checks on the dbt models: great-expectations suites and sync accuracy."""
from datetime import date

import dagster as dg
from dagster_duckdb import DuckDBResource

from data_quality.gx_runner import SuiteRunner
from data_quality.suites.staging import STAGING_SUITES
from data_quality.sync_accuracy import sync_failures
from data_quality.validate import check_result, validate_batch
from orchestration import settings

GX_CHECK = "gx_staging_suite"
SYNC_CHECK = "sync_accuracy"
SYNC_ASSET = dg.AssetKey(["marts", "agg_sync_accuracy"])


def _staging_key(model: str) -> dg.AssetKey:
    return dg.AssetKey(["staging", model])


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(GX_CHECK, asset=_staging_key(model), blocking=True,
                             description="great-expectations suite on the latest delivery day")
           for model in STAGING_SUITES],
    can_subset=True,
)
def staging_suites(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
    """Runs the staging GX suites on each model's latest delivery day and builds the Data Docs site."""
    runner = SuiteRunner(settings.home_dir() / "data_docs")
    with warehouse.get_connection() as con:
        for key in context.selected_asset_check_keys:
            model = key.asset_key.path[-1]
            suite = STAGING_SUITES[model]
            latest = con.execute(f"select max(delivery_date)::varchar from {suite.table}").fetchall()[0][0]
            outcome = validate_batch(con, runner, suite, latest or date.min.isoformat())
            yield check_result(outcome, key.asset_key, GX_CHECK, runner.docs_index)
    runner.build_docs()


@dg.asset_check(asset=SYNC_ASSET, name=SYNC_CHECK, blocking=True,
                description="control totals agree with the warehouse for every settled source and day")
def sync_accuracy(warehouse: DuckDBResource) -> dg.AssetCheckResult:
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
