"""Shared fixtures: a small simulated world, run end to end through Dagster once per test session."""
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

WORLD = dict(customers=500, days=6, seed=3)


@dataclass(frozen=True)
class World:
    root: Path
    landing: Path
    warehouse: Path
    truth: Path

    def query(self, sql: str, params=None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


def point_settings_at(root: Path) -> dict[str, str]:
    """Environment for a pipeline rooted at `root`; returns the previous values to restore."""
    wanted = {
        "OMNI_HOME": str(root),
        "OMNI_LANDING_DIR": str(root / "landing"),
        "OMNI_WAREHOUSE": str(root / "warehouse.duckdb"),
        "OMNI_PUBLISH_DIR": str(root / "published"),
    }
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    return previous


def restore_settings(previous: dict[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def settings_at(root: Path):
    """Points every pipeline setting at `root` for the duration, then restores the previous values."""
    previous = point_settings_at(root)
    try:
        yield root
    finally:
        restore_settings(previous)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    """A default simulated world (all dirt on, no sync faults), ingested and built through Dagster."""
    import simulator
    from orchestration.runner import run_pipeline

    with settings_at(tmp_path_factory.mktemp("world")) as root:
        simulator.simulate(root / "landing", **WORLD)
        run_pipeline(log=lambda message: None)
        yield World(root, root / "landing", root / "warehouse.duckdb", root / "landing" / "_truth")
