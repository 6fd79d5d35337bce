"""The project's Dagster instance (orchestration/instance_storage.py): Dagster's SQLite storage whose event log keeps
one engine per shard. It must store what the stock storage stores, in the same files, and keep no path of its own."""

import shutil

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration import instance_storage
from orchestration.instance_storage import CachedEngineSqliteEventLogStorage, OmnichannelInstance
from orchestration.runner import prepared_dagster_home


@dg.asset
def numbers():
    """Three numbers."""
    return [1, 2, 3]


@dg.asset_check(asset=numbers)
def three_numbers(numbers):
    return dg.AssetCheckResult(passed=len(numbers) == 3)


def _run(instance) -> str:
    result = dg.materialize([numbers, three_numbers], instance=instance)
    assert result.success
    return result.run_id


@pytest.fixture
def created_engines(monkeypatch):
    """The shards an engine was created for, in order."""
    created = []
    real = instance_storage.create_engine

    def counting(url, **kwargs):
        created.append(str(url).rsplit("/", 1)[-1])
        return real(url, **kwargs)

    monkeypatch.setattr(instance_storage, "create_engine", counting)
    return created


def test_the_instance_keeps_one_engine_per_shard_and_stores_what_the_stock_storage_reads(tmp_path, created_engines):
    home = prepared_dagster_home(tmp_path / "dagster_home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance, OmnichannelInstance)
        assert isinstance(instance.event_log_storage, CachedEngineSqliteEventLogStorage)
        run_ids = [_run(instance) for _ in range(3)]
        events = {run_id: len(instance.all_logs(run_id)) for run_id in run_ids}
        # Dozens of events per run, each opening several connections: one engine for the index and one per run.
        assert min(events.values()) > 10
        assert sorted(created_engines) == sorted(["index.db", *(f"{run_id}.db" for run_id in run_ids)])
        ours = instance.get_latest_materialization_event(dg.AssetKey("numbers"))
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("numbers"), "three_numbers")]
        )
        assert ours.run_id == run_ids[-1]
        assert next(iter(check.values())).event.asset_check_evaluation.passed

    # The files are Dagster's own, where it keeps them: its stock storage reads every event back.
    stock = SqliteEventLogStorage(str(home / "history" / "runs"))
    assert {run_id: len(stock.get_logs_for_run(run_id)) for run_id in run_ids} == events
    assert (
        stock.get_latest_materialization_events([dg.AssetKey("numbers")])[dg.AssetKey("numbers")].run_id
        == (run_ids[-1])
    )


def test_a_copied_instance_writes_into_its_own_folder_not_the_one_it_was_copied_from(tmp_path):
    home = prepared_dagster_home(tmp_path / "original")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        _run(instance)
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    with dg.DagsterInstance.from_config(str(copy)) as instance:
        copied_run = _run(instance)
        assert len(instance.get_run_records()) == 2
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_run_records()) == 1
        assert instance.get_run_by_id(copied_run) is None
    assert (copy / "history" / "runs" / f"{copied_run}.db").exists()
    assert not (home / "history" / "runs" / f"{copied_run}.db").exists()


def test_the_engines_kept_are_bounded_and_a_dropped_one_is_made_again(tmp_path, monkeypatch, created_engines):
    monkeypatch.setattr(instance_storage, "MAX_CACHED_ENGINES", 2)
    with dg.DagsterInstance.from_config(str(prepared_dagster_home(tmp_path / "dagster_home"))) as instance:
        first = _run(instance)
        logs = len(instance.all_logs(first))
        _run(instance)
        _run(instance)
        assert len(instance.event_log_storage._engines) == 2
        assert len(instance.all_logs(first)) == logs
        assert created_engines.count(f"{first}.db") == 2
