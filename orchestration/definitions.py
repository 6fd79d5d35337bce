"""The Dagster code location: assets, jobs and resources of the omnichannel pipeline."""
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.dbt import dbt_models
from orchestration.assets.raw import RAW_GROUP, control_totals, raw_source_assets
from orchestration.assets.reference import phone_numbers
from orchestration.dbt_project import dbt_project
from orchestration.partitions import delivery_days
from orchestration.resources import landing_resource, warehouse_resource

ingest_delivery_day = dg.define_asset_job(
    "ingest_delivery_day",
    selection=dg.AssetSelection.groups(RAW_GROUP),
    partitions_def=delivery_days,
    description="Loads one delivery day of every source and its control totals into raw.",
)

transform = dg.define_asset_job(
    "transform",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(RAW_GROUP),
    description="Normalizes reference data and builds every dbt model and test on the loaded raw data.",
)

defs = dg.Definitions(
    assets=[*raw_source_assets, control_totals, phone_numbers, dbt_models],
    jobs=[ingest_delivery_day, transform],
    resources={
        "warehouse": warehouse_resource(),
        "landing": landing_resource(),
        # The dbt beside this interpreter, so the pipeline works without the venv on PATH.
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
    },
    # One DuckDB file takes one writer: steps of a run execute one after another in the run's process.
    executor=dg.in_process_executor,
)
