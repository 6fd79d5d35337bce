"""The Dagster code location: assembles the assets, checks, jobs, schedules and resources of `orchestration.defs`."""

import dagster as dg

from orchestration.defs.automation import build_daily_catch_up, landing_zone_sensor, transform_after_ingestion
from orchestration.defs.dbt import dbt_models
from orchestration.defs.dbt_cli import LOCAL_DBT, LocalDbtCliResource
from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.failure_report import build_failed_publication_sensor
from orchestration.defs.gate import upstream_check_keys
from orchestration.defs.ingestion import bookkeeping_assets, control_totals, raw_source_assets
from orchestration.defs.jobs import ingest_delivery_day, publish, schedules, transform
from orchestration.defs.metrics import clv_backtest
from orchestration.defs.publishing import build_published_marts
from orchestration.defs.quality import cross_system_agreement, gx_metrics_suites, gx_suites, sync_accuracy
from orchestration.defs.reference import email_addresses, phone_numbers
from orchestration.defs.reporting import build_release_report
from orchestration.defs.resources import pipeline_resources
from orchestration.defs.row_drops import build_row_drop_checks

ASSETS = [*raw_source_assets, control_totals, *bookkeeping_assets, phone_numbers, email_addresses, dbt_models]
CHECKS = [gx_suites, gx_metrics_suites, sync_accuracy, cross_system_agreement, clv_backtest]


def build_definitions() -> dg.Definitions:
    """The code location; the publish gate is handed every check upstream of the marts it copies."""
    resources = {
        **pipeline_resources(),
        "dbt": LocalDbtCliResource(project_dir=dbt_project, dbt_executable=LOCAL_DBT),
    }
    marts = [key for key in dbt_models.keys if key.path[0] == "marts"]
    checks = [*CHECKS, build_row_drop_checks(marts)]
    graph = dg.Definitions(assets=ASSETS, asset_checks=checks, resources=resources).resolve_asset_graph()
    gate_checks = upstream_check_keys(graph, marts)
    published_marts = build_published_marts(upstream=marts, gate_checks=gate_checks)
    return dg.Definitions(
        assets=[*ASSETS, published_marts, build_release_report(gate_checks)],
        asset_checks=checks,
        jobs=[ingest_delivery_day, transform, publish],
        schedules=[*schedules, build_daily_catch_up()],
        sensors=[
            landing_zone_sensor,
            transform_after_ingestion,
            build_failed_publication_sensor([transform, publish], gate_checks),
        ],
        resources=resources,
        # One DuckDB file takes one writer: steps of a run execute one after another in the run's process.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `dagster dev -w workspace.yaml` loads, lazily: building it reads the environment and the dbt manifest."""
    return build_definitions()
