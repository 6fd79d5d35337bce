"""The foundation end to end on a simulated world: nothing lost, bad lines named, late events on their day."""

import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from orchestration.ingestion.sources import RAW_TABLES
from orchestration.settings import PROJECT_ROOT


def _physical_lines(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def _faults(world) -> list[dict]:
    return json.loads((world.truth / "faults.json").read_text())


def test_every_source_and_day_reconciles_lines_read(world):
    """lines read = rows loaded + duplicates + quarantined, and lines read is what the files really hold."""
    log = world.query(
        "select table_name, _delivery_date::varchar, lines_read, rows_loaded, duplicates, quarantined "
        "from raw.ingest_log"
    )
    assert log, "nothing was ingested"
    for table, day, read, loaded, duplicates, quarantined in log:
        assert read == loaded + duplicates + quarantined, (table, day)
    by_partition = {(t, d): r for t, d, r, *_ in log}
    for table in RAW_TABLES:
        for folder in sorted((world.landing / table.source).glob("????-??-??")):
            files = sorted(folder.glob(table.file_glob))
            header_lines = len(files) if table.format == "csv" else 0
            expected = sum(_physical_lines(f) for f in files) - header_lines
            assert by_partition.get((table.table, folder.name), 0) == expected, (table.table, folder.name)
    # Raw tables hold exactly what the log says.
    for table in RAW_TABLES:
        counts = dict(world.query(f"select _delivery_date::varchar, count(*) from raw.{table.table} group by 1"))
        for (name, day), read in by_partition.items():
            if name == table.table:
                quarantined = world.query(
                    "select count(*) from raw.quarantine where table_name = ? and _delivery_date = ?::date", [name, day]
                )[0][0]
                assert counts.get(day, 0) + quarantined == read, (name, day)


def test_injected_bad_lines_are_quarantined_with_file_line_and_reason(world):
    bad_kinds = {"malformed_json", "truncated", "missing_required"}
    injected = [f for f in _faults(world) if f.get("kind") in bad_kinds]
    assert injected, "the default world injects malformed, truncated and incomplete lines"
    quarantined = {
        (f, line): reason for f, line, reason in world.query("select _file, _line, reason from raw.quarantine")
    }
    for fault in injected:
        reason = quarantined.get((fault["file"], fault["line"]))
        assert reason, f"not quarantined: {fault}"
        if fault["kind"] == "missing_required":
            assert reason.startswith(("missing required field", "malformed CSV row")), (fault, reason)
        else:
            assert "invalid JSON" in reason or "malformed CSV row" in reason, (fault, reason)


def test_duplicates_are_loaded_once(world):
    injected = Counter(f["source"] for f in _faults(world) if f.get("kind") == "duplicate")
    assert sum(injected.values()) > 0
    flagged = dict(world.query("select source, sum(duplicates) from raw.ingest_log group by 1"))
    for source, count in injected.items():
        assert flagged.get(source, 0) >= count, source


def test_late_events_land_under_their_event_day_in_staging(world):
    late = world.query("select count(*) from staging.stg_web__events where delivery_date > event_date")[0][0]
    assert late > 0, "the default world delivers some web events late"
    # Counted by event day, staging agrees with the source's own totals, which count by event day too:
    # had late events landed on their delivery day, the days would disagree.
    control = dict(
        world.query("select date::varchar || ':' || metric, value::bigint from raw.control_totals where source = 'web'")
    )
    staged = Counter(
        dict(
            world.query(
                "select event_date::varchar || ':' || event_type, count(*) from staging.stg_web__events group by 1"
            )
        )
    )
    # The source counted events whose lines are still in flight after the world's last day (the simulator's
    # truth lists them): they are the difference, and nothing else is.
    landed = {r[0] for r in world.query("select event_id from staging.stg_web__events")}
    in_flight = pd.read_parquet(world.root / "landing" / "_truth" / "in_flight.parquet")
    waiting = in_flight[(in_flight["source"] == "web") & ~in_flight["event_id"].isin(landed)].drop_duplicates(
        "event_id"
    )
    staged.update(
        Counter(f"{day}:{metric}" for day, metric in zip(waiting["event_day"].astype(str), waiting["metric"]))
    )
    assert control and dict(staged) == {k: v for k, v in control.items() if v}


@pytest.mark.slow  # loads the code location in a subprocess
def test_dagster_definitions_validate():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("layer", ["raw", "staging"])
def test_layers_are_populated(world, layer):
    tables = world.query("select table_name from information_schema.tables where table_schema = ?", [layer])
    assert tables
    empty = [
        t
        for (t,) in tables
        if world.query(f'select count(*) from {layer}."{t}"')[0][0] == 0 and t not in {"quarantine"}
    ]
    assert not empty, empty


def test_rerunning_a_delivery_day_through_dagster_leaves_identical_tables(world):
    """Every raw table, quarantine and the log are the same after a re-run; only _loaded_at moves."""
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.defs.partitions import DELIVERY_DAY

    tables = [t.table for t in RAW_TABLES] + ["quarantine", "ingest_log", "control_totals"]

    def snapshot():
        return {t: world.query(f"select * exclude (_loaded_at) from raw.{t} order by all") for t in tables}

    before = snapshot()
    day = world.query("select max(_delivery_date)::varchar from raw.ingest_log")[0][0]
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DELIVERY_DAY, [day])
    result = (
        build_definitions()
        .resolve_job_def("ingest_delivery_day")
        .execute_in_process(partition_key=day, instance=instance)
    )
    assert result.success
    assert snapshot() == before


def test_the_runs_of_omnichannel_run_are_listed_under_their_jobs_in_the_code_location(world):
    """The UI lists a job's runs by their code location's label: the build's runs (`omnichannel run`'s path) carry
    it, with the origin that "Re-execute" loads the job from."""
    import dagster as dg
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    from orchestration import located_runs

    instance = dg.DagsterInstance.from_config(str(world.root / "dagster_home"))
    days = [key for key in world.runs if key[:2] == "20"]
    for job, expected in (
        ("transform", {world.runs["transform"]}),
        ("ingest_delivery_day", {world.runs[d] for d in days}),
    ):
        listed = {
            run.run_id
            for run in instance.get_runs(
                dg.RunsFilter(job_name=job, tags={REPOSITORY_LABEL_TAG: located_runs.repository_label()})
            )
        }
        assert expected and expected <= listed, job
        run = instance.get_run_by_id(next(iter(expected)))
        location = run.remote_job_origin.repository_origin.code_location_origin
        assert (location.location_name, run.remote_job_origin.job_name) == ("omnichannel", job)
        assert run.job_code_origin.repository_origin.code_pointer.module == "orchestration.definitions"


def test_a_second_run_with_nothing_new_publishes_no_new_release(world, tmp_path_factory):
    """`omnichannel run` again on a copy of the world, no day new: dbt rebuilds every mart, to the same rows, and the
    current release stays current (its files, its report) instead of a second copy of it being written."""
    from conftest import copy_world, run_pipeline_at

    copy = copy_world(world, tmp_path_factory, "rerun_nothing_new")
    published = copy.root / "published"
    releases = sorted(p.name for p in (published / "releases").iterdir())
    current = (published / "current").resolve().name
    report = published / "current" / "report.html"
    drawn = report.stat().st_mtime_ns
    runs = run_pipeline_at(copy.root, "rerun, nothing new")
    assert runs["success"] and runs["published"], runs
    assert not [key for key in runs if key[:2] == "20"]  # no day was ingested again
    assert runs["unchanged"] == f"release {current} stays current"
    assert sorted(p.name for p in (published / "releases").iterdir()) == releases
    assert (published / "current").resolve().name == current
    assert report.stat().st_mtime_ns == drawn
    assert json.loads((published / "manifest.json").read_text())["run_id"] == world.runs["transform"]
