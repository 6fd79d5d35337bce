"""Runs the pipeline through Dagster itself, so runs land in the instance's history (the UI's)."""

import json
import os
import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from orchestration import located_runs, settings
from orchestration.defs.partitions import DELIVERY_DAY, partition_range_tags
from orchestration.ingestion.arrivals import consecutive_groups
from orchestration.ingestion.fingerprints import changed_days, loaded_fingerprints
from orchestration.ingestion.landing import NoDeliveryDays, landing_days
from orchestration.run_recovery import fail_dead_runs, run_tags
from orchestration.warehouse_lock import exclusive

INSTANCE_CONFIG = settings.PROJECT_ROOT / "orchestration" / "dagster.yaml"


def dagster_instance() -> dg.DagsterInstance:
    """The instance at DAGSTER_HOME, else the project's own under OMNI_HOME (`dagster_home/`, as `scripts/demo.sh`
    has it), created with the project's instance settings.

    Never a throwaway one: the gate publishes only what checks passed on in this instance, and a run that loads no
    changed day relies on the checks recorded when the days were loaded.
    """
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.from_config(str(prepared_dagster_home(settings.home_dir() / "dagster_home")))


def prepared_dagster_home(home: Path) -> Path:
    """`home`, created if missing, with the project's instance settings unless it has its own `dagster.yaml`."""
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")
    return home


def select_days(days: Sequence[str], start: str | date | None, end: str | date | None) -> list[str]:
    """The days within [start, end]; the bounds must be dates (`date` or YYYY-MM-DD), or None for open."""
    first, last = (None if d is None else date.fromisoformat(str(d)).isoformat() for d in (start, end))
    if first and last and first > last:
        raise ValueError(f"the start {first} is after the end {last}")
    # ISO days order as their strings do, once both sides are ISO days.
    return [d for d in days if (first is None or d >= first) and (last is None or d <= last)]


def step_failures(result: dg.ExecuteInProcessResult | located_runs.JobExecutionResult) -> list[str]:
    """`<step>: <first line of its error>` for every step that failed in the run."""
    failures = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            # A user error is wrapped by Dagster: its cause holds the message worth showing.
            while error is not None and error.cause is not None and "Error occurred while executing" in error.message:
                error = error.cause
            first_line = (error.message.strip().splitlines() or [""])[0] if error else "failed"
            failures.append(f"{event.step_key}: {first_line}")
    return failures


def _report_failed_publication(defs: dg.Definitions, instance: dg.DagsterInstance):
    """The report of what holds the publication back, beside the last good one (the transform's blocking checks
    skipped its publish step, which would have written it); None when the gate is open after all."""
    from orchestration.defs.failure_report import report_failed_publication
    from orchestration.defs.gate import evaluate_gate, upstream_check_keys
    from orchestration.defs.publishing import PUBLISHED_KEY

    graph = defs.resolve_asset_graph()
    keys = upstream_check_keys(graph, sorted(graph.get(PUBLISHED_KEY).parent_keys))
    if evaluate_gate(instance, keys).open or not settings.warehouse_path().exists():
        return None
    return report_failed_publication(instance, keys, settings.warehouse_path(), settings.publish_dir())


def days_to_load(days: Sequence[str], full_refresh: bool = False) -> list[str]:
    """The days among `days` whose files are new or changed since the warehouse loaded them (all of them with
    `full_refresh`, or when there is no warehouse yet)."""
    warehouse = settings.warehouse_path()
    if full_refresh or not warehouse.exists():
        return list(days)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = loaded_fingerprints(con)
    return changed_days(settings.landing_dir(), days, loaded)


def day_summaries(days: Sequence[str]) -> list[str]:
    """One line per delivery day: the lines its files held and where each went (raw.ingest_log)."""
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        rows = con.execute(
            """
            select _delivery_date::varchar, count(*), sum(files), sum(lines_read), sum(rows_loaded), sum(duplicates),
                sum(quarantined)
            from raw.ingest_log where list_contains(?, _delivery_date::varchar) group by 1 order by 1
            """,
            [list(days)],
        ).fetchall()
    return [
        f"  {day}: {tables} tables, {files:,} files, {lines:,} lines: {loaded:,} loaded, {duplicates:,} duplicates, "
        f"{quarantined:,} quarantined"
        for day, tables, files, lines, loaded, duplicates, quarantined in rows
    ]


def run_pipeline(start: str | None = None, end: str | None = None, log=print, full_refresh: bool = False) -> dict:
    """Ingest every new or changed delivery day in [start, end] (every one with `full_refresh`), then build
    everything downstream; returns run ids.

    Holds the warehouse's run lock throughout (a run started meanwhile, here or from the UI, waits for this one;
    this one waits for a run already going), so what it reads of the warehouse before its runs stays true."""
    with exclusive(settings.warehouse_path(), waiting=log):
        return _run_pipeline(start, end, log, full_refresh)


def _run_pipeline(start: str | None, end: str | None, log, full_refresh: bool) -> dict:
    from orchestration.definitions import build_definitions

    landing = settings.landing_dir()
    if not landing.is_dir():
        raise NoDeliveryDays(f"no landing folder at {landing}")
    held = landing_days(landing)
    days = select_days(held, start, end)
    if not days:
        within = f" between {start or 'the first day'} and {end or 'the last'}" if start or end else ""
        holds = f" (it holds {held[0]} .. {held[-1]})" if held else ""
        raise NoDeliveryDays(f"no delivery days in {landing}{within}{holds}")
    selected = days
    days = days_to_load(selected, full_refresh)
    if len(days) < len(selected):
        log(
            f"{len(selected) - len(days)} of {len(selected)} delivery day(s) unchanged since they were loaded: "
            "not loaded again (--full-refresh loads every day)"
        )
    defs = build_definitions()
    instance = dagster_instance()
    # A run killed earlier (SIGKILL, OOM, reboot) would hold the warehouse slot forever: fail it first.
    fail_dead_runs(instance, log)
    instance.add_dynamic_partitions(
        DELIVERY_DAY, [d for d in days if not instance.has_dynamic_partition(DELIVERY_DAY, d)]
    )
    runs = {}
    # Each stretch of neighbouring days in one run, as a backfill would (each day still loaded and validated on
    # its own): a run per day costs its fixed part again and again.
    for stretch in consecutive_groups(instance.get_dynamic_partitions(DELIVERY_DAY), days):
        first, last = stretch[0], stretch[-1]
        label = first if first == last else f"{first} .. {last} ({len(stretch)} days)"
        tags = {**run_tags(), **partition_range_tags(first, last)}
        result = located_runs.execute("ingest_delivery_day", instance, tags)
        runs.update(dict.fromkeys(stretch, result.run_id))
        if not result.success:
            # Transforming without these days would publish a world that lacks them: stop here, say why.
            failures = step_failures(result)
            log(f"ingestion of {label} failed (run {result.run_id}): " + "; ".join(failures))
            runs.update(success=False, failed_checks=[], published=False, failed_ingestion=failures)
            return runs
        log(f"ingested {label} (run {result.run_id})")
        for line in day_summaries(stretch):
            log(line)
    # The incremental models restage only the days that changed; a full refresh rebuilds them from scratch too.
    run_config = {"ops": {"dbt_models": {"config": {"full_refresh": True}}}} if full_refresh else None
    result = located_runs.execute("transform", instance, run_tags(), run_config)
    runs["transform"] = result.run_id
    failed_checks = sorted(
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    )
    publications = [
        e.event_specific_data.materialization
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key == dg.AssetKey(["published", "marts"])
    ]
    published = bool(publications)
    # "release <id> stays current" when the current release already held these marts: nothing new was written.
    unchanged = next((m.metadata["unchanged"].value for m in publications if "unchanged" in m.metadata), None)
    warned = {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e.description or ""
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.WARN
    }
    if published and unchanged is None:  # say what the manifest says, exactly
        manifest = json.loads((settings.publish_dir() / "manifest.json").read_text())
        warned = {w["check"]: w["what"] for w in manifest["checks"].get("warnings", [])}
    runs.update(
        success=result.success,
        failed_checks=failed_checks,
        published=published,
        unchanged=unchanged,
        warned_checks=sorted(warned),
    )
    log(f"transformed (run {result.run_id}); warehouse: {settings.warehouse_path()}")
    for failure in step_failures(result):
        log(f"failed step {failure}")
    if failed_checks:
        log("failed checks: " + ", ".join(failed_checks))
    warnings = "; ".join(f"{name}: {what}" for name, what in sorted(warned.items()))
    if published:
        log(f"published to {settings.publish_dir() / 'current'}" + (f" (unchanged: {unchanged})" if unchanged else ""))
        if warned:
            log(f"published with {len(warned)} warning(s): {warnings}")
    else:
        log("NOT published: the last publication is untouched")
        report = _report_failed_publication(defs, instance)
        if report is not None:
            log(f"what failed: {report}")
        if warned:
            log(f"{len(warned)} warning(s) besides: {warnings}")
    return runs
