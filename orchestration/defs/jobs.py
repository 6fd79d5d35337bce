"""Jobs and schedules: ingest a delivery day, transform and check everything, publish behind the gate."""

import dagster as dg

from orchestration.defs.ingestion import RAW_GROUP
from orchestration.defs.publishing import PUBLISHED_KEY
from orchestration.defs.reporting import REPORT_KEY

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
    selection=dg.AssetSelection.assets(PUBLISHED_KEY, REPORT_KEY),
    description="Publishes the marts and their report if every upstream check passed on the current data; else "
    "changes nothing but the report of what failed.",
)

# The daily build is `daily_catch_up` (orchestration/defs/automation.py): it ingests what is new, then the
# transform and the gated publish follow.
schedules = [
    dg.ScheduleDefinition(
        name="daily_publish",
        job=publish,
        cron_schedule="30 6 * * *",
        description="Retries publication; the gate holds whatever ran before.",
    ),
]
