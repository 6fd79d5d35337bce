"""The pipeline running itself: a sensor on the landing zone, the transform after ingestion, a daily catch-up.

- `landing_zone` (sensor) registers each new delivery-day partition and requests ingestion runs for the days that
  are new or whose files changed since it last looked (one run per range of neighbouring days).
- `transform_after_ingestion` (run-status sensor) requests the `transform` job, whose publish step is behind the
  gate, once ingestion runs the automation or a backfill started have succeeded and none is left to run.
- `daily_catch_up` (schedule, 02:00 UTC unless `OMNI_DAILY_CRON` says otherwise) requests ingestion of every day
  the instance has not loaded since its files last changed, for whatever the sensor did not pick up.

They run in the daemon, apart from the runs, and DuckDB takes one writer per file: none of them opens the
warehouse. The sensor keeps the name, size and mtime of each day's files in its cursor; the schedule asks the
instance when each day was last loaded by a run that succeeded.
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    BACKFILL_ID_TAG,
    PARTITION_NAME_TAG,
)
from dagster._utils.schedules import is_valid_cron_string

from orchestration import settings
from orchestration.defs.ingestion import control_totals, raw_source_assets
from orchestration.defs.jobs import ingest_delivery_day, transform
from orchestration.defs.partitions import DELIVERY_DAY, delivery_days, partition_range_tags
from orchestration.defs.resources import LandingZone
from orchestration.ingestion.arrivals import changed_signatures, consecutive_groups, day_signature, last_change
from orchestration.ingestion.landing import landing_days

# Set on every run the automation requests; the transform follows only such ingestion runs (and backfills'), so
# `omnichannel run`, which transforms by itself, is not followed by a second transform.
AUTOMATION_TAG = "omnichannel/automation"
DAILY_CRON_SETTING = "OMNI_DAILY_CRON"
# Enough of the ingestion history to know each day's latest outcome.
RUN_HISTORY = 500


def _ingestion_keys() -> list[dg.AssetKey]:
    return [key for assets in [*raw_source_assets, control_totals] for key in assets.keys]


def ingestion_requests(
    order: Sequence[str], days: Sequence[str], tags: dict, run_key: Callable[[list[str]], str]
) -> list[dg.RunRequest]:
    """Ingestion runs for `days`: one per range of neighbours in the partitions' `order` (a range is one run,
    loading its days in turn), each keyed by `run_key(its days)` so that the same request is never made twice."""
    requests = []
    for group in consecutive_groups(order, days):
        first, last = group[0], group[-1]
        if first == last:
            requests.append(dg.RunRequest(run_key=run_key(group), partition_key=first, tags=tags))
        else:
            requests.append(dg.RunRequest(run_key=run_key(group), tags={**tags, **partition_range_tags(first, last)}))
    return requests


def run_days(run: dg.DagsterRun, order: Sequence[str]) -> list[str]:
    """The delivery days a run of the ingestion job covers: its partition, or its partition range."""
    if run.tags.get(PARTITION_NAME_TAG):
        return [run.tags[PARTITION_NAME_TAG]]
    first, last = run.tags.get(ASSET_PARTITION_RANGE_START_TAG), run.tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if first in order and last in order:
        return list(order[order.index(first) : order.index(last) + 1])
    return []


def _ingestion_runs(instance: dg.DagsterInstance, statuses: Sequence[dg.DagsterRunStatus]) -> list[dg.RunRecord]:
    return list(
        instance.get_run_records(
            dg.RunsFilter(job_name=ingest_delivery_day.name, statuses=list(statuses)), limit=RUN_HISTORY
        )
    )


def failed_days(instance: dg.DagsterInstance) -> list[str]:
    """Days whose latest finished ingestion run failed (a failed step or raw suite): the world lacks them."""
    order = instance.get_dynamic_partitions(DELIVERY_DAY)
    latest: dict[str, dg.DagsterRunStatus] = {}
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
    for record in _ingestion_runs(instance, finished):  # newest first
        for day in run_days(record.dagster_run, order):
            latest.setdefault(day, record.dagster_run.status)
    return sorted(day for day, status in latest.items() if status != dg.DagsterRunStatus.SUCCESS)


def days_in_flight(instance: dg.DagsterInstance) -> set[str]:
    """Days an ingestion run not yet finished (queued or running) is loading."""
    order = instance.get_dynamic_partitions(DELIVERY_DAY)
    return {
        day
        for record in _ingestion_runs(instance, NOT_FINISHED_STATUSES)
        for day in run_days(record.dagster_run, order)
    }


def loaded_since_written(instance: dg.DagsterInstance, landing: Path, day: str) -> bool:
    """Did a run that succeeded materialize every ingestion asset of `day` after its files were last written?"""
    if not instance.has_dynamic_partition(DELIVERY_DAY, day):
        return False
    written = last_change(landing, day)
    for key in _ingestion_keys():
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1
        ).records
        if not records or records[0].timestamp < written:
            return False
        run = instance.get_run_by_id(records[0].run_id)
        if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
            return False  # its raw suite failed, or a step did: the day counts as not loaded
    return True


def _new_partitions(instance: dg.DagsterInstance, days: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the days not yet partitions, the partitions' order once they are added)."""
    existing = instance.get_dynamic_partitions(DELIVERY_DAY)
    new = sorted(set(days) - set(existing))
    return new, [*existing, *new]


@dg.sensor(
    name="landing_zone",
    job=ingest_delivery_day,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Registers new delivery days and ingests the days that are new or whose files changed; the "
    "transform and the gated publish follow (transform_after_ingestion).",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
    """Ingests each delivery day that appeared or changed since the last look (name, size and mtime of its files)."""
    root = landing.root
    if not root.is_dir():
        return dg.SkipReason(f"no landing folder at {root}")
    seen = json.loads(context.cursor) if context.cursor else {}
    signatures = {day: day_signature(root, day) for day in landing_days(root)}
    in_flight = days_in_flight(context.instance)
    wanted = [
        day
        for day in changed_signatures(signatures, seen)
        # Files that changed since the last look are loaded again, even behind a run still loading the day; a day
        # the sensor never saw may have been loaded before it was turned on (`omnichannel run`), or be loading now.
        if day in seen or not (day in in_flight or loaded_since_written(context.instance, root, day))
    ]
    new, order = _new_partitions(context.instance, list(signatures))
    if new:
        context.log.info(f"new delivery days: {', '.join(new)}")
    # The run key names the days and their files' state: the same files are never requested twice, changed ones are.
    requests = ingestion_requests(
        order, wanted, {AUTOMATION_TAG: "landing_zone"}, lambda group: _signature_key(signatures, group)
    )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[delivery_days.build_add_request(new)] if new else [],
        cursor=json.dumps(signatures, sort_keys=True),
        skip_reason=None if requests else "no delivery day is new or changed",
    )


def _signature_key(signatures: dict[str, str], days: Sequence[str]) -> str:
    state = hashlib.blake2b("".join(signatures[d] for d in days).encode(), digest_size=8).hexdigest()
    return f"{days[0]}..{days[-1]}:{state}"


@dg.run_status_sensor(
    name="transform_after_ingestion",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_delivery_day],
    request_job=transform,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Transforms and publishes (behind the gate) once the ingestion runs the automation or a backfill "
    "started have succeeded and none is left to run.",
)
def transform_after_ingestion(context: dg.RunStatusSensorContext):
    """Requests the transform after the last of the automation's ingestion runs succeeds."""
    run = context.dagster_run
    if AUTOMATION_TAG not in run.tags and BACKFILL_ID_TAG not in run.tags:
        return dg.SkipReason(
            f"run {run.run_id} was not started by the automation or a backfill: its starter transforms"
        )
    waiting = sorted(days_in_flight(context.instance))
    if waiting:
        return dg.SkipReason(f"ingestion of {', '.join(waiting)} still to run: the last one to succeed transforms")
    failed = failed_days(context.instance)
    if failed:
        # Transforming without those days would publish a world that lacks them (as `omnichannel run` stops).
        return dg.SkipReason(f"not transforming: the latest ingestion of {', '.join(failed)} failed")
    pending = context.instance.get_run_records(
        dg.RunsFilter(job_name=transform.name, statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]),
        limit=1,
    )
    if pending:
        return dg.SkipReason(f"transform run {pending[0].dagster_run.run_id} has not started: it reads this day too")
    return dg.RunRequest(run_key=f"after:{run.run_id}", tags={AUTOMATION_TAG: "transform_after_ingestion"})


def build_daily_catch_up() -> dg.ScheduleDefinition:
    """The daily catch-up, on the cron of `OMNI_DAILY_CRON` (read when the definitions are built), in UTC."""
    cron = settings.get(DAILY_CRON_SETTING)
    if not is_valid_cron_string(cron):
        raise ValueError(f"{DAILY_CRON_SETTING}={cron!r} is not a cron expression of 5 fields, e.g. '0 2 * * *'")

    @dg.schedule(
        name="daily_catch_up",
        job=ingest_delivery_day,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Ingests ({cron} UTC) every delivery day not loaded since its files last changed, whatever the "
        "sensor missed; the transform and the gated publish follow.",
    )
    def daily_catch_up(context: dg.ScheduleEvaluationContext, landing: LandingZone):
        """Ingests every delivery day the instance has not loaded since its files changed."""
        root = landing.root
        if not root.is_dir():
            return dg.SkipReason(f"no landing folder at {root}")
        days = landing_days(root)
        # A schedule cannot hand Dagster partitions to add with its requests: it adds them itself.
        new, order = _new_partitions(context.instance, days)
        if new:
            context.instance.add_dynamic_partitions(DELIVERY_DAY, new)
        in_flight = days_in_flight(context.instance)
        wanted = [d for d in days if d not in in_flight and not loaded_since_written(context.instance, root, d)]
        if not wanted:
            return dg.SkipReason("every delivery day is loaded since its files last changed")
        tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
        tags = {AUTOMATION_TAG: "daily_catch_up"}
        return ingestion_requests(order, wanted, tags, lambda group: f"catch-up:{tick}:{group[0]}..{group[-1]}")

    return daily_catch_up
