"""A run loads only the delivery days whose files are new or changed since the warehouse loaded them."""

import filecmp
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.control import load_control_day
from orchestration.ingestion.fingerprints import changed_days, drop_fingerprint, loaded_fingerprints
from orchestration.ingestion.landing import landing_days
from orchestration.ingestion.loader import load_partition
from orchestration.ingestion.sources import RAW_TABLES

LOADED_AT = datetime(2026, 3, 10, 12, 0)
SMALL = dict(customers=60, days=3, seed=21)


def _load_everything(con: duckdb.DuckDBPyConnection, landing: Path, days: list[str]) -> None:
    """What one ingestion run per day does: every raw table of the day, and its control totals."""
    for day in days:
        for table in RAW_TABLES:
            load_partition(con, table, landing, day, LOADED_AT)
        load_control_day(con, landing, day, LOADED_AT)


def _differing_days(before: Path, after: Path) -> set[str]:
    """Days with a file whose bytes differ between two landing zones, or that only one of them has."""
    days = set()
    for root, other in ((before, after), (after, before)):
        for path in root.rglob("*"):
            if path.is_file() and "_truth" not in path.parts:
                twin = other / path.relative_to(root)
                if not twin.is_file() or not filecmp.cmp(path, twin, shallow=False):
                    # <source>/<day>/<file>, or _control/<source>/<day>.json
                    days.add(path.stem if path.parts[-3] == "_control" else path.parent.name)
    return days


@pytest.fixture
def loaded(tmp_path):
    import simulator

    landing = tmp_path / "landing"
    simulator.simulate(landing, **SMALL)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    days = landing_days(landing)
    _load_everything(con, landing, days)
    yield con, landing, days
    con.close()


def test_nothing_changed_after_loading_and_after_the_same_files_are_written_again(loaded, tmp_path):
    import simulator

    con, landing, days = loaded
    assert len(days) >= 3
    assert changed_days(landing, days, loaded_fingerprints(con)) == []
    simulator.simulate(landing, **SMALL)  # a source re-delivering the same bytes
    assert changed_days(landing, days, loaded_fingerprints(con)) == []


def test_a_redelivery_with_lost_events_changes_exactly_the_days_whose_bytes_differ(loaded, tmp_path):
    import simulator

    con, landing, days = loaded
    before = tmp_path / "before"
    simulator.simulate(before, **SMALL)
    simulator.simulate(landing, **SMALL, faults=["drop:email:2026-03-02:0.3"])
    differing = _differing_days(before, landing)
    assert differing and differing < set(days)
    assert changed_days(landing, days, loaded_fingerprints(con)) == sorted(differing)
    # Once those days are loaded again, nothing is left to load.
    _load_everything(con, landing, sorted(differing))
    assert changed_days(landing, days, loaded_fingerprints(con)) == []


def test_a_new_a_removed_and_an_unloaded_file_each_make_their_day_load_again(loaded):
    con, landing, days = loaded
    first, second, third = days[:3]
    extra = landing / "web" / first / "late-export.jsonl"
    extra.write_text("")  # even an empty file is a change of what the day holds
    removed = sorted((landing / "email" / second).iterdir())[0]
    removed.unlink()
    drop_fingerprint(con, RAW_TABLES[0].table, third)  # its rows failed their suite
    assert changed_days(landing, days, loaded_fingerprints(con)) == [first, second, third]


def test_a_warehouse_that_never_loaded_has_every_day_to_load(tmp_path, loaded):
    _, landing, days = loaded
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        assert loaded_fingerprints(con) == {}
        assert changed_days(landing, days, loaded_fingerprints(con)) == days


def test_the_run_skips_unchanged_days_unless_told_to_refresh(loaded, tmp_path, monkeypatch):
    from orchestration.runner import days_to_load

    con, landing, days = loaded
    con.close()
    monkeypatch.setenv("OMNI_LANDING_DIR", str(landing))
    monkeypatch.setenv("OMNI_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    assert days_to_load(days) == []
    assert days_to_load(days, full_refresh=True) == days
    monkeypatch.setenv("OMNI_WAREHOUSE", str(tmp_path / "not-there.duckdb"))
    assert days_to_load(days) == days
