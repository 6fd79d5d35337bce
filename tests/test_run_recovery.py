"""A run whose process is killed does not block the next one: it is failed and its warehouse slot freed.

The fast tests kill a small job that holds the `warehouse` slot; the slow one kills `omnichannel run` itself, once
while it ingests and once while dbt runs, then runs again to success.
"""

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import psutil
import pytest

from orchestration.run_recovery import HOST_TAG, fail_dead_runs, why_gone
from orchestration.settings import PROJECT_ROOT

# A job with one op in pool "warehouse" that says so once it holds the slot, then waits to be killed.
_HOLDER = textwrap.dedent("""
    import sys, time
    import dagster as dg
    from orchestration.run_recovery import run_tags

    @dg.op(pool="warehouse")
    def hold_the_warehouse():
        print("holding", flush=True)
        time.sleep(600)

    @dg.job
    def holder():
        hold_the_warehouse()

    holder.execute_in_process(instance=dg.DagsterInstance.from_config(sys.argv[1]), tags=run_tags())
""")


@pytest.fixture
def instance(tmp_path):
    """An instance configured as the project ships it (orchestration/dagster.yaml)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


@pytest.fixture
def holder(instance):
    """Starts a run that holds the warehouse slot; yields its process; kills it at the end."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, instance.root_directory], stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT
    )
    try:
        assert process.stdout.readline().strip() == "holding"
        yield process
    finally:
        process.kill()
        process.wait()


def _only_run(instance) -> dg.RunRecord:
    (record,) = instance.get_run_records()
    return record


def _claimed(instance) -> list[str]:
    return [slot.run_id for slot in instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots]


def test_a_killed_run_is_marked_failed_and_its_warehouse_slot_freed(instance, holder):
    run_id = _only_run(instance).dagster_run.run_id
    assert _claimed(instance) == [run_id]
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED  # what Dagster leaves behind

    log: list[str] = []
    assert fail_dead_runs(instance, log.append) == [run_id]
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    assert _claimed(instance) == []
    assert log == [
        f"marked run {run_id} failed: its process {holder.pid} is gone; freed its warehouse slot (job holder)"
    ]
    failure = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    assert f"its process {holder.pid} is gone" in failure[0].event_log_entry.message
    # Done once: the next run finds nothing to do.
    log.clear()
    assert fail_dead_runs(instance, log.append) == [] and log == []


def test_a_live_run_is_left_alone_and_the_daemon_fails_it_once_killed(instance, holder):
    """While the process lives its run keeps the slot; once killed, run monitoring (the daemon's check) fails it,
    and the slot the failed run still holds is freed by the next `fail_dead_runs`."""
    from dagster._daemon.monitoring.run_monitoring import monitor_started_run

    record = _only_run(instance)
    run_id = record.dagster_run.run_id
    log: list[str] = []
    assert fail_dead_runs(instance, log.append) == []
    monitor_started_run(instance, None, record, logging.getLogger("test"))
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
    assert _claimed(instance) == [run_id]
    assert log == [
        f"run {run_id} (holder, process {holder.pid}) is in progress and holds a slot in pool warehouse: "
        "this run's steps wait for it"
    ]

    holder.send_signal(signal.SIGKILL)
    holder.wait()
    monitor_started_run(instance, None, _only_run(instance), logging.getLogger("test"))
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    log.clear()
    assert fail_dead_runs(instance, log.append) == []
    assert _claimed(instance) == []
    assert log == [f"run {run_id} (FAILURE) still held pool slots; freed its warehouse slot"]


def test_a_reused_pid_is_not_mistaken_for_the_run_and_other_hosts_runs_are_not_judged(instance):
    @dg.op
    def nothing():
        return None

    @dg.job
    def here():
        nothing()

    here.execute_in_process(instance=instance, tags={HOST_TAG: socket.gethostname()})
    record = _only_run(instance)
    assert why_gone(instance, record) is None  # this very process: alive, and older than its run
    # A run that started before this process did cannot be this process's: its pid was reused.
    before = record._replace(start_time=psutil.Process().create_time() - 3600)
    assert why_gone(instance, before) == f"its process {os.getpid()} is gone (that pid now belongs to a later process)"
    elsewhere = before._replace(dagster_run=record.dagster_run.with_tags({HOST_TAG: "another-machine"}))
    assert why_gone(instance, elsewhere) is None


# --- the real pipeline, killed -------------------------------------------------------------------------------------

RUN_TIMEOUT_SECONDS = 1200  # a hang (the bug) fails the test instead of blocking the suite


def _pipeline_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNI_", "DAGSTER_"))}
    return {**env, "OMNI_HOME": str(root), "DAGSTER_HOME": str(root / "dagster_home")}


def _start_run(root: Path, end: str, name: str) -> tuple[subprocess.Popen, Path]:
    """`omnichannel run` in its own process group (killing the group kills its dbt too, as a reboot would)."""
    output = root / f"{name}.log"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "omnichannel"), "run", "--end", end],
        env=_pipeline_env(root),
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, output


def _wait_for(process: subprocess.Popen, output: Path, instance, job: str, with_dbt: bool) -> tuple[str, list[int]]:
    """Waits until a run of `job` holds the warehouse slot (and dbt runs, if asked); its run id and dbt pids."""
    import time

    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the run ended early:\n{output.read_text()[-3000:]}"
        for run_id in _claimed(instance):
            run = instance.get_run_by_id(run_id)
            if run.job_name != job:
                continue
            dbt = [child.pid for child in psutil.Process(process.pid).children(recursive=True) if _is_dbt(child)]
            if dbt or not with_dbt:
                return run_id, dbt
        time.sleep(0.2)
    raise AssertionError(f"no {job} run took the warehouse slot:\n{output.read_text()[-3000:]}")


def _is_dbt(process: psutil.Process) -> bool:
    try:
        return any(part.endswith("/dbt") for part in process.cmdline()[:2])
    except psutil.NoSuchProcess:
        return False


def _kill_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _still_running(pids: list[int]) -> list[int]:
    """The pids still running a while after their group was killed.

    SIGKILL is delivered at once but a large process takes a moment to tear down (and, orphaned, to be reaped), so
    an immediate look can see it still running on a loaded machine; one that survives 30 s escaped the kill.
    """
    processes = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            processes.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(processes, timeout=30)
    return [p.pid for p in alive if _status(p) not in {None, psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD}]


def _status(process: psutil.Process) -> str | None:
    try:
        return process.status()
    except psutil.NoSuchProcess:
        return None


def _warehouse_opens_for_writing(root: Path) -> list[str]:
    """Opens the warehouse read-write (no process left holding it, the file readable); its tables."""
    import duckdb

    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        return [
            r[0]
            for r in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables order by 1"
            ).fetchall()
        ]


def _wait_for_lock_held_by(root: Path, process: subprocess.Popen) -> None:
    """Until `process` holds the warehouse's run lock (its pid in the lock file)."""
    import time

    lock = root / "warehouse.duckdb.lock"
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while not (lock.exists() and lock.read_text().strip() == str(process.pid)):
        assert process.poll() is None and time.monotonic() < deadline, "the run never took the warehouse"
        time.sleep(0.1)


def _step_times(instance, record: dg.RunRecord) -> list[float]:
    """When each step of the run started and ended."""
    return [
        e.timestamp
        for e in instance.all_logs(record.dagster_run.run_id)
        if e.dagster_event is not None and (e.dagster_event.is_step_start or e.dagster_event.is_step_success)
    ]


@pytest.mark.slow
def test_a_run_killed_while_ingesting_then_one_killed_in_dbt_do_not_block_the_next(tmp_path):
    import simulator

    root = tmp_path
    simulator.simulate(root / "landing", customers=100, days=2, seed=11)
    first_day = sorted(p.name for p in (root / "landing" / "web").iterdir())[0]
    (root / "dagster_home").mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
    processes = []
    with dg.DagsterInstance.from_config(str(root / "dagster_home")) as instance:
        try:
            ingesting, output = _start_run(root, first_day, "killed_ingesting")
            processes.append(ingesting)
            ingest_run, _ = _wait_for(ingesting, output, instance, "ingest_delivery_day", with_dbt=False)
            _kill_group(ingesting)
            # Each ingestion step takes the slot and gives it back: the kill lands inside a step (the slot is
            # held), on a step queued for it, or between two (neither), and the next run must say which.
            at_kill = instance.event_log_storage.get_concurrency_info("warehouse")
            if ingest_run in {slot.run_id for slot in at_kill.claimed_slots}:
                freed = "freed its warehouse slot"
            elif ingest_run in {step.run_id for step in at_kill.pending_steps}:
                freed = "dropped its steps waiting for pool warehouse"
            else:
                freed = "it held no pool slot"
            _warehouse_opens_for_writing(root)

            # The next run frees the slot (else it would wait forever), ingests, and gets as far as dbt.
            building, output = _start_run(root, first_day, "killed_in_dbt")
            processes.append(building)
            transform_run, dbt_pids = _wait_for(building, output, instance, "transform", with_dbt=True)
            _kill_group(building)
            assert not _still_running(dbt_pids), "dbt outlived its run"
            _warehouse_opens_for_writing(root)
            assert f"marked run {ingest_run} failed: its process {ingesting.pid} is gone; {freed}" in output.read_text()

            # The next run, and a publish run started from elsewhere while it holds the warehouse: the second waits
            # for the first, then both succeed.
            command = [str(Path(sys.executable).parent / "omnichannel"), "run", "--end", first_day]
            running = subprocess.Popen(command, env=_pipeline_env(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            processes.append(running)
            _wait_for_lock_held_by(root, running)
            publishing = subprocess.Popen(
                [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "orchestration.definitions"]
                + ["-j", "publish"],
                env=_pipeline_env(root),
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            processes.append(publishing)
            out, err = running.communicate(timeout=RUN_TIMEOUT_SECONDS)
            final = subprocess.CompletedProcess(command, running.returncode, out.decode(), err.decode())
            published_meanwhile = publishing.communicate(timeout=RUN_TIMEOUT_SECONDS)[0].decode()
        finally:
            for process in processes:
                if process.poll() is None:
                    _kill_group(process)
        assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
        assert (
            f"marked run {transform_run} failed: its process {building.pid} is gone; freed its warehouse slot"
            in final.stdout
        )
        assert f"published to {root / 'published' / 'current'}" in final.stdout
        assert publishing.returncode == 0, published_meanwhile[-3000:]
        assert f"another run holds it (process {running.pid})" in published_meanwhile
        (publish_run,) = instance.get_run_records(dg.RunsFilter(job_name="publish"))
        assert publish_run.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        # The runs the last command made (its day was ingested by the run killed in dbt: a transform alone).
        made = set(re.findall(r"\(run ([0-9a-f-]{36})\)", final.stdout))
        final_runs = [r for r in instance.get_run_records() if r.dagster_run.run_id in made]
        assert made and len(final_runs) == len(made)
        assert {r.dagster_run.status for r in final_runs} == {dg.DagsterRunStatus.SUCCESS}
        # In sequence: every step of the publish run after every step of the other run's.
        assert min(_step_times(instance, publish_run)) > max(t for r in final_runs for t in _step_times(instance, r))
        # What it did per stage in a few lines; Dagster's events and dbt's output in the file it names.
        assert len(final.stdout.splitlines()) <= 15, final.stdout
        details = Path(final.stdout.rsplit("details (Dagster's events, dbt's output): ", 1)[1].strip())
        assert "STEP_SUCCESS" in details.read_text() and "STEP_SUCCESS" not in final.stdout + final.stderr
        assert (root / "published" / "current").exists()
        for run_id in (ingest_run, transform_run):
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
        assert _claimed(instance) == []
    assert {"raw.ingest_log", "marts.customer_identifier"} <= set(_warehouse_opens_for_writing(root))
