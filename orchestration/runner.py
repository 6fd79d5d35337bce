"""Runs the pipeline through Dagster itself, so runs land in the instance's history (the UI's, with DAGSTER_HOME)."""
import json
import os
from collections.abc import Sequence

import dagster as dg

from orchestration import settings
from orchestration.partitions import DELIVERY_DAY, landing_days


def dagster_instance() -> dg.DagsterInstance:
    """The user's instance when DAGSTER_HOME is set, else a throwaway one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def select_days(days: Sequence[str], start: str | None, end: str | None) -> list[str]:
    return [d for d in days if (start is None or d >= start) and (end is None or d <= end)]


def run_pipeline(start: str | None = None, end: str | None = None, log=print) -> dict:
    """Ingest every delivery day in [start, end], then build everything downstream; returns run ids."""
    settings.apply_defaults()
    from orchestration.definitions import defs  # after defaults, so resources see the same env

    days = select_days(landing_days(settings.landing_dir()), start, end)
    if not days:
        raise SystemExit(f"no delivery days in {settings.landing_dir()} between {start} and {end}")
    instance = dagster_instance()
    instance.add_dynamic_partitions(DELIVERY_DAY, [d for d in days if not instance.has_dynamic_partition(DELIVERY_DAY, d)])
    runs = {}
    ingest = defs.resolve_job_def("ingest_delivery_day")
    for day in days:
        result = ingest.execute_in_process(partition_key=day, instance=instance)
        runs[day] = result.run_id
        log(f"ingested {day} (run {result.run_id})")
    result = defs.resolve_job_def("transform").execute_in_process(instance=instance, raise_on_error=False)
    runs["transform"] = result.run_id
    failed_checks = sorted(
        f"{e.asset_key.to_user_string()}:{e.check_name}" for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR)
    published = any(e.asset_key == dg.AssetKey(["published", "marts"]) for e in result.get_asset_materialization_events()
                    for e in [e.event_specific_data.materialization])
    warned = {f"{e.asset_key.to_user_string()}:{e.check_name}": e.description or ""
              for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.WARN}
    if published:  # say what the manifest says, exactly
        manifest = json.loads((settings.publish_dir() / "manifest.json").read_text())
        warned = {w["check"]: w["what"] for w in manifest["checks"].get("warnings", [])}
    runs.update(success=result.success, failed_checks=failed_checks, published=published, warned_checks=sorted(warned))
    log(f"transformed (run {result.run_id}); warehouse: {settings.warehouse_path()}")
    if failed_checks:
        log("failed checks: " + ", ".join(failed_checks))
    warnings = "; ".join(f"{name}: {what}" for name, what in sorted(warned.items()))
    if published:
        log(f"published to {settings.publish_dir() / 'current'}")
        if warned:
            log(f"published with {len(warned)} warning(s): {warnings}")
    else:
        log("NOT published: the last publication is untouched")
        if warned:
            log(f"{len(warned)} warning(s) besides: {warnings}")
    return runs
