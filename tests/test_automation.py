"""The pipeline running itself in Dagster: the landing-zone sensor, the transform after ingestion, the daily
catch-up, and a range of delivery days ingested in one run (a single-run backfill)."""

import dataclasses
import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import settings_at

from data_quality.gx_runner import ExpectationFailure
from orchestration.ingestion.control import load_control_day
from orchestration.ingestion.fingerprints import changed_days, loaded_fingerprints
from orchestration.ingestion.landing import delivery_day_paths, landing_days
from orchestration.ingestion.loader import load_partition
from orchestration.ingestion.sources import RAW_TABLES
from orchestration.settings import PROJECT_ROOT

TINY = dict(customers=60, days=4, seed=31)
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _instance(home: Path) -> dg.DagsterInstance:
    """A persistent instance with the project's settings (as the daemon's would be)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def _move_day(day: str, source: Path, target: Path) -> None:
    for path in delivery_day_paths(source, day):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        path.rename(destination)


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None, name: str = "landing_zone"):
    """One evaluation of the sensor, then what the daemon does with it: add the partitions it asked for."""
    sensor = defs.get_sensor_def(name)
    with dg.build_sensor_context(
        instance_ref=instance.get_ref(),
        cursor=cursor,
        definitions=defs,
        resources={"landing": defs.resources["landing"]},
    ) as context:
        data = sensor.evaluate_tick(context)
    for request in data.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return data


def _catch_up(defs: dg.Definitions, instance: dg.DagsterInstance):
    """One tick of the daily catch-up schedule, at its 02:00 UTC."""
    schedule = defs.get_schedule_def("daily_catch_up")
    with dg.build_schedule_context(
        instance_ref=instance.get_ref(),
        repository_def=defs.get_repository_def(),
        resources={"landing": defs.resources["landing"]},
        scheduled_execution_time=datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
    ) as context:
        return schedule.evaluate_tick(context)


def _execute(
    defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest, job_name: str, succeed: bool = True
):
    """The requested run, as the daemon would launch it: its job, partition (or range) and tags."""
    assert (request.job_name or job_name) == job_name
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, tags=dict(request.tags), raise_on_error=False
    )
    assert result.success == succeed, [e.message for e in result.all_events if e.is_step_failure]
    return result


def _after_success(defs: dg.Definitions, instance: dg.DagsterInstance, run_id: str):
    """The run-status sensor's evaluation on the success of ingestion run `run_id`."""
    sensor = defs.get_sensor_def("transform_after_ingestion")
    event = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[0].dagster_event
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
    )
    return sensor(context)


def _ingested_days(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select distinct _delivery_date::varchar from raw.ingest_log order by 1").fetchall()
    return [day for (day,) in rows]


def _compare(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """Rows of `table` only in the range run's warehouse, and only in the per-day runs' (load times left out)."""
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_catalog = 'ranged' and "
            "table_schema = 'raw' and table_name = ? and column_name <> '_loaded_at' order by ordinal_position",
            [table],
        ).fetchall()
    ]
    listed = ", ".join(columns)
    only = [
        con.execute(
            f"select count(*) from (select {listed} from {a}.raw.{table} except all select {listed} from {b}.raw.{table})"
        ).fetchone()[0]
        for a, b in (("ranged", "daily"), ("daily", "ranged"))
    ]
    return only[0], only[1]


def _resend_first_event(folder: Path) -> None:
    """The source re-sends the day's first event in a file of its own: a duplicate, loaded once."""
    export = sorted(folder.iterdir())[0]
    opener = gzip.open if export.suffix == ".gz" else open
    with opener(export, "rb") as handle:
        first_line = handle.readline()
    (folder / "resend-0001.jsonl").write_bytes(first_line)


def _fingerprints_to_load(landing: Path, warehouse: Path, days: list[str]) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return changed_days(landing, days, loaded_fingerprints(con))


@pytest.mark.slow
def test_the_sensor_alone_ingests_transforms_and_publishes_a_day_that_lands_and_reloads_changed_days(
    tmp_path, monkeypatch
):
    import simulator
    from orchestration.definitions import build_definitions
    from orchestration.defs import ingestion
    from orchestration.defs.automation import failed_days

    landing, held, warehouse = tmp_path / "landing", tmp_path / "held", tmp_path / "warehouse.duckdb"
    simulator.simulate(landing, **TINY)
    days = landing_days(landing)
    assert len(days) >= 4
    new_day = days[-1]
    _move_day(new_day, landing, held)
    instance = _instance(tmp_path / "dagster_home")
    with settings_at(tmp_path):
        defs = build_definitions()

        # The first look: every day is new, and they are neighbours: one run loads them all, in turn.
        first = _tick(defs, instance, None)
        assert instance.get_dynamic_partitions("delivery_day") == days[:-1]
        assert len(first.run_requests) == 1
        request = first.run_requests[0]
        assert (request.tags[RANGE_START], request.tags[RANGE_END]) == (days[0], days[-2])
        ranged = _execute(defs, instance, request, "ingest_delivery_day")
        assert _ingested_days(warehouse) == days[:-1]
        # One run: each asset materialized every day of the range, each check evaluated once over them.
        web = dg.AssetKey(["raw", "web"])
        assert {e.partition for e in ranged.get_asset_materialization_events() if e.asset_key == web} == set(days[:-1])
        [web_check] = [e for e in ranged.get_asset_check_evaluations() if e.asset_key == web]
        assert web_check.passed and web_check.metadata["days"].value == len(days) - 1
        # ... and it loaded exactly what one run per day loads (the same loaders, a day at a time).
        with duckdb.connect(str(tmp_path / "daily.duckdb")) as con:
            for day in days[:-1]:
                for table in RAW_TABLES:
                    load_partition(con, table, landing, day, datetime(2026, 3, 10, 12, 0))
                load_control_day(con, landing, day, datetime(2026, 3, 10, 12, 0))
        with duckdb.connect() as con:
            con.execute(f"attach '{warehouse}' as ranged (read_only)")
            con.execute(f"attach '{tmp_path / 'daily.duckdb'}' as daily (read_only)")
            tables = [t.table for t in RAW_TABLES] + [
                "ingest_log",
                "quarantine",
                "control_totals",
                "landing_fingerprints",
            ]
            for table in tables:
                assert _compare(con, table) == (0, 0), table
            unreconciled = con.execute(
                "select count(*) from ranged.raw.ingest_log where lines_read <> rows_loaded + duplicates + quarantined"
            ).fetchone()[0]
            assert unreconciled == 0
        # The transform follows the last ingestion run that succeeded.
        assert isinstance(_after_success(defs, instance, ranged.run_id), dg.RunRequest)

        # Nothing landed: nothing to do.
        quiet = _tick(defs, instance, first.cursor)
        assert quiet.run_requests == [] and "no delivery day" in quiet.skip_message

        # A day lands: its partition is added and that day alone is ingested, then transformed and published.
        _move_day(new_day, held, landing)
        arrival = _tick(defs, instance, quiet.cursor)
        assert instance.get_dynamic_partitions("delivery_day") == days
        assert [r.partition_key for r in arrival.run_requests] == [new_day]
        assert arrival.run_requests[0].tags["dagster/partition"] == new_day
        ingested = _execute(defs, instance, arrival.run_requests[0], "ingest_delivery_day")
        assert _ingested_days(warehouse) == days
        # A run of one day records that day's counts, as `omnichannel run`'s runs do.
        [web_event] = [e for e in ingested.get_asset_materialization_events() if e.asset_key == web]
        assert web_event.partition == new_day and "dagster/row_count" in web_event.materialization.metadata
        then = _after_success(defs, instance, ingested.run_id)
        assert isinstance(then, dg.RunRequest) and (then.job_name or "transform") == "transform"
        transformed = _execute(defs, instance, then, "transform")
        published = {
            e.event_specific_data.materialization.asset_key for e in transformed.get_asset_materialization_events()
        }
        assert dg.AssetKey(["published", "marts"]) in published
        manifest = json.loads((tmp_path / "published" / "current" / "manifest.json").read_text())
        assert manifest["run_id"] == transformed.run_id
        assert (manifest["first_delivery_day"], manifest["last_delivery_day"]) == (days[0], new_day)
        with duckdb.connect(str(tmp_path / "published" / "current" / "omnichannel.duckdb"), read_only=True) as con:
            assert con.execute("select count(*) from marts.dim_customer").fetchone()[0] > 0

        # Files of two old days change: those days, and only they, are requested again (one run, neighbours).
        for day in days[:2]:
            _resend_first_event(landing / "web" / day)
        change = _tick(defs, instance, arrival.cursor)
        assert [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in change.run_requests] == [(days[0], days[1])]
        assert _fingerprints_to_load(landing, warehouse, days) == days[:2]
        # The second day's raw suite fails in that run: its fingerprint alone is dropped, so it loads again.
        real_validate = ingestion.validate_batches

        def failing_on_the_second_day(con, runner, suite, batch_keys, validate_one):
            outcomes = real_validate(con, runner, suite, batch_keys, validate_one)
            if suite.table == "raw.web" and days[1] in outcomes:
                failure = ExpectationFailure("expect_column_values_to_be_unique", "_first_copy_event_id", 1, [])
                outcomes[days[1]] = dataclasses.replace(outcomes[days[1]], failures=[failure])
            return outcomes

        monkeypatch.setattr(ingestion, "validate_batches", failing_on_the_second_day)
        failed = _execute(defs, instance, change.run_requests[0], "ingest_delivery_day", succeed=False)
        monkeypatch.undo()
        [web_check] = [e for e in failed.get_asset_check_evaluations() if e.asset_key == web]
        assert not web_check.passed and web_check.metadata["failed_days"].value == [days[1]]
        assert _fingerprints_to_load(landing, warehouse, days) == [days[1]]
        # No transform while the world lacks a day that failed.
        assert failed_days(instance) == days[:2]
        held_back = _after_success(defs, instance, ingested.run_id)
        assert isinstance(held_back, dg.SkipReason) and days[1] in held_back.skip_message

        # The sensor saw these files already; the daily catch-up loads what no run loaded since they changed.
        assert _tick(defs, instance, change.cursor).run_requests == []
        schedule = defs.get_schedule_def("daily_catch_up")
        assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone == "UTC"
        [retry] = _catch_up(defs, instance).run_requests
        assert (retry.tags[RANGE_START], retry.tags[RANGE_END]) == (days[0], days[1])
        retried = _execute(defs, instance, retry, "ingest_delivery_day")
        assert _fingerprints_to_load(landing, warehouse, days) == []
        assert failed_days(instance) == []
        assert isinstance(_after_success(defs, instance, retried.run_id), dg.RunRequest)

        # Everything is loaded: neither the catch-up nor a sensor turned on later (no cursor) asks for more.
        assert _catch_up(defs, instance).run_requests == []
        assert _tick(defs, instance, None).run_requests == []


def test_days_to_load_group_into_ranges_of_neighbouring_partitions():
    from orchestration.ingestion.arrivals import consecutive_groups

    # Partitions keep the order they were added in: a late-registered day is a neighbour of nothing older.
    order = ["2026-03-01", "2026-03-02", "2026-03-04", "2026-03-05", "2026-03-03"]
    wanted = ["2026-03-05", "2026-03-01", "2026-03-03", "2026-03-02"]
    assert consecutive_groups(order, wanted) == [["2026-03-01", "2026-03-02"], ["2026-03-05", "2026-03-03"]]
    with pytest.raises(ValueError, match="2026-03-09"):
        consecutive_groups(order, ["2026-03-09"])


def test_a_day_signature_changes_with_a_file_touched_added_or_removed_and_not_otherwise(tmp_path):
    import os

    from orchestration.ingestion.arrivals import day_signature

    folder = tmp_path / "web" / "2026-03-01"
    folder.mkdir(parents=True)
    export = folder / "events-0001.jsonl"
    export.write_text('{"a": 1}\n')
    before = day_signature(tmp_path, "2026-03-01")
    assert day_signature(tmp_path, "2026-03-01") == before
    (tmp_path / "notes.txt").write_text("not a delivery")  # outside the day: no change
    assert day_signature(tmp_path, "2026-03-01") == before
    stat = export.stat()
    os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # re-written, same bytes
    touched = day_signature(tmp_path, "2026-03-01")
    assert touched != before
    (folder / "events-0002.jsonl").write_text("")
    added = day_signature(tmp_path, "2026-03-01")
    assert added not in (before, touched)
    (folder / "events-0002.jsonl").unlink()
    assert day_signature(tmp_path, "2026-03-01") == touched
