"""The Dagster code location: assets, checks, jobs, schedules and resources of the omnichannel pipeline."""
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.checks import cross_system_agreement, gx_suites, sync_accuracy
from orchestration.assets.dbt import dbt_models
from orchestration.assets.publish import PUBLISHED_KEY, build_published_marts
from orchestration.assets.raw import RAW_GROUP, control_totals, raw_source_assets
from orchestration.assets.reference import email_addresses, phone_numbers
from orchestration.dbt_project import dbt_project
from orchestration.resources import landing_resource, warehouse_resource

published_marts = build_published_marts(
    upstream=[key for key in dbt_models.keys if key.path[0] == "marts"]
)

ingest_delivery_day = dg.define_asset_job(
    "ingest_delivery_day",
    selection=dg.AssetSelection.groups(RAW_GROUP),
    description="Loads one delivery day of every source and its control totals into raw.",
)

transform = dg.define_asset_job(
    "transform",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(RAW_GROUP),
    description="Normalizes reference data, builds and tests every dbt model, runs the checks, then publishes.",
)

publish = dg.define_asset_job(
    "publish",
    selection=dg.AssetSelection.assets(PUBLISHED_KEY),
    description="Publishes the marts if every upstream check passed on the current data; else changes nothing.",
)

schedules = [
    dg.ScheduleDefinition(name="daily_transform", job=transform, cron_schedule="0 6 * * *",
                          description="Builds, checks and publishes every morning."),
    dg.ScheduleDefinition(name="daily_publish", job=publish, cron_schedule="30 6 * * *",
                          description="Retries publication; the gate holds whatever ran before."),
]

defs = dg.Definitions(
    assets=[*raw_source_assets, control_totals, phone_numbers, email_addresses, dbt_models, published_marts],
    asset_checks=[gx_suites, sync_accuracy, cross_system_agreement],
    jobs=[ingest_delivery_day, transform, publish],
    schedules=schedules,
    resources={
        "warehouse": warehouse_resource(),
        "landing": landing_resource(),
        # The dbt beside this interpreter, so the pipeline works without the venv on PATH.
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
    },
    # One DuckDB file takes one writer: steps of a run execute one after another in the run's process.
    executor=dg.in_process_executor,
)
