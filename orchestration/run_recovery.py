"""Runs whose process died (SIGKILL, an OOM kill, a reboot): fail them and free the pool slots they hold.

Such a run stays STARTED in the instance and keeps its slot in pool `warehouse` (limit 1), so every later run's
steps wait on "Step blocked by limit for pool warehouse" forever. `fail_dead_runs` runs before `omnichannel run`
starts; with `dagster-daemon` running, run monitoring asks `ProcessCheckingRunLauncher` (configured in
`dagster.yaml`) whether each run's process lives, and fails those that do not.

A run's process is the one that wrote its RUN_START event: the caller of `execute_in_process`, or the run worker a
launcher started. It is gone when no process has that pid, when it is a zombie, or when the process now holding the
pid started after the run did (pids are reused, and every pid is new after a reboot). A pid only means something
on the host that recorded it: runs are tagged with their host, and an untagged run is judged only when the
instance's storage is SQLite, which is one machine's. Runs that cannot be judged here are left to run
monitoring's `max_runtime_seconds`.
"""

import socket
from collections.abc import Callable

import dagster as dg
import psutil
from dagster._core.events import DagsterEventType, JobFailureData, RunFailureReason
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.runs import SqliteRunStorage

HOST_TAG = "omnichannel/host"
# The states in which a run's process holds, or waits for, pool slots. A STARTING run has no process of its own
# yet (run monitoring's start timeout covers it).
IN_FLIGHT = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
# A run's process starts seconds before the run does (imports, definitions); one later than this is another one.
_PID_REUSE_TOLERANCE_SECONDS = 1.0


def run_tags() -> dict[str, str]:
    """Tags for a run this process starts: the host its pid belongs to."""
    return {HOST_TAG: socket.gethostname()}


def run_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the process that started the run, from its RUN_START event."""
    events = instance.event_log_storage.get_logs_for_run(run_id, of_type={DagsterEventType.RUN_START}, limit=1)
    return events[0].dagster_event.pid if events and events[0].dagster_event else None


def why_gone(instance: dg.DagsterInstance, record: dg.RunRecord) -> str | None:
    """Why the run's process is certainly gone; None when it may be alive or cannot be checked from this host."""
    host = record.dagster_run.tags.get(HOST_TAG)
    if host is not None and host != socket.gethostname():
        return None
    if host is None and not isinstance(instance.run_storage, SqliteRunStorage):
        return None
    pid = run_pid(instance, record.dagster_run.run_id)
    if pid is None:
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return f"its process {pid} is gone"
        if record.start_time is not None and process.create_time() > record.start_time + _PID_REUSE_TOLERANCE_SECONDS:
            return f"its process {pid} is gone (that pid now belongs to a later process)"
    except psutil.NoSuchProcess:
        return f"its process {pid} is gone"
    except psutil.AccessDenied:  # someone else's live process
        return None
    return None


def _pools_by_run(instance: dg.DagsterInstance) -> dict[str, dict[str, set[str]]]:
    """run id -> {"claimed": pools it holds a slot in, "pending": pools it has steps waiting for}."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    by_run: dict[str, dict[str, set[str]]] = {}
    for pool, info in storage.get_concurrency_infos(sorted(storage.get_concurrency_keys())).items():
        for slot in info.claimed_slots:
            by_run.setdefault(slot.run_id, {"claimed": set(), "pending": set()})["claimed"].add(pool)
        for step in info.pending_steps:
            by_run.setdefault(step.run_id, {"claimed": set(), "pending": set()})["pending"].add(pool)
    return by_run


def _describe_freed(pools: dict[str, set[str]] | None) -> str:
    claimed = sorted((pools or {}).get("claimed", ()))
    if len(claimed) == 1:
        return f"freed its {claimed[0]} slot"
    if claimed:
        return f"freed its slots in pools {', '.join(claimed)}"
    if (pools or {}).get("pending"):
        return "dropped its steps waiting for pool " + ", ".join(sorted(pools["pending"]))
    return "it held no pool slot"


def fail_dead_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[str]:
    """Fails every in-flight run whose process is gone and frees the slots of every run that no longer runs.

    Returns the ids of the runs it marked failed (or canceled, for a run that was being canceled)."""
    pools = _pools_by_run(instance)
    marked = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT)):
        run = record.dagster_run
        reason = why_gone(instance, record)
        if reason is None:
            if pools.get(run.run_id, {}).get("claimed"):
                pid = run_pid(instance, run.run_id)
                log(
                    f"run {run.run_id} ({run.job_name}, process {pid}) is in progress and holds a slot in pool "
                    f"{', '.join(sorted(pools[run.run_id]['claimed']))}: this run's steps wait for it"
                )
            continue
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.status not in IN_FLIGHT:  # another process got there first
            continue
        message = f"Marked failed by a later run: {reason}; its pool slots are freed."
        if current.status == dg.DagsterRunStatus.CANCELING:
            instance.report_run_canceled(current, message.replace("failed", "canceled", 1))
            verb = "canceled"
        else:
            instance.report_run_failed(
                current, message, JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION)
            )
            verb = "failed"
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        log(
            f"marked run {run.run_id} {verb}: {reason}; {_describe_freed(pools.pop(run.run_id, None))} "
            f"(job {run.job_name})"
        )
        marked.append(run.run_id)
    # Slots still held by runs that ended (or were deleted): their steps never released them.
    for run_id, held in pools.items():
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            state = "deleted" if run is None else run.status.value
            log(f"run {run_id} ({state}) still held pool slots; {_describe_freed(held)}")
    return marked


class ProcessCheckingRunLauncher(dg.DefaultRunLauncher):
    """The default launcher, plus the health check run monitoring calls: is the run's process still there?"""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        record = self._instance.get_run_record_by_id(run.run_id)
        reason = why_gone(self._instance, record) if record else None
        if reason:
            return CheckRunHealthResult(WorkerStatus.FAILED, reason)
        # Alive, or not checkable from this host: either way not ours to fail (max_runtime_seconds still applies).
        return CheckRunHealthResult(WorkerStatus.RUNNING)
