"""Shared fixtures: simulated worlds run end to end through Dagster, each built once per test session.

A pipeline run costs minutes, so built worlds are shared:

- `build_world(tmp_path_factory, customers=, days=, seed=, faults=(), first_run_days=None)` builds a world once per
  session for each set of parameters and returns the same `World` to every caller after that. A shared world is
  read-only: a test that changes one (forget someone, re-deliver files, run the pipeline again) works on
  `copy_world(world, tmp_path_factory, name)`, a clone of its files in a fresh root, instead of building its own.
- `world` is the default world (`WORLD`, all dirt on, no sync faults), built in two runs as deliveries really
  arrive: its first `first_run_days` delivery days, then the rest (`World.first_run_warehouse` keeps the
  warehouse as the first run left it, for the tests of what a later run changes).
- Tests that need a built world are marked `slow` (automatically, by the fixtures they use; those that run dbt or
  Dagster in a subprocess say so themselves); `-m "not slow"` skips them while iterating, `scripts/test.sh` runs
  everything.
"""

import contextlib
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

WORLD = dict(customers=800, days=6, seed=3)
# The default world's first run ingests this many delivery days; its second run the rest.
FIRST_RUN_DAYS = 5

# Fixtures that build or copy a world through the whole pipeline: every test using one is marked slow.
SLOW_FIXTURES = {"world", "forgotten", "gated", "incremental"}


@dataclass(frozen=True)
class World:
    root: Path
    landing: Path
    warehouse: Path
    truth: Path
    # What the last `run_pipeline` of the build returned (run ids, success, failed_checks, published).
    runs: dict = field(default_factory=dict, compare=False)
    # The warehouse as the first run left it, when the world was built in two runs.
    first_run_warehouse: Path | None = None

    @classmethod
    def at(cls, root: Path, runs: dict | None = None, first_run_warehouse: Path | None = None) -> "World":
        return cls(
            root,
            root / "landing",
            root / "warehouse.duckdb",
            root / "landing" / "_truth",
            runs or {},
            first_run_warehouse,
        )

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
        "OMNI_DATA_DOCS_DIR": str(root / "data_docs"),
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


# --- progress: a world takes minutes to build; say what is happening instead of sitting silent -------------

_config = None


def pytest_configure(config):
    global _config
    _config = config


def progress(message: str) -> None:
    """One line on the terminal, past pytest's output capture (unless -q)."""
    terminal = _config and _config.pluginmanager.get_plugin("terminalreporter")
    if terminal is None or terminal.verbosity < 0:
        return
    capture = _config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        terminal.write_line(f"    {message}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


# --- built worlds, shared ----------------------------------------------------------------------------------

_built: dict[tuple, World] = {}


def run_pipeline_at(root: Path, label: str, **kwargs) -> dict:
    """`run_pipeline` on the world at `root` (settings pointed there meanwhile), reporting progress."""
    from orchestration.runner import run_pipeline

    started = time.monotonic()

    def log(message: str) -> None:
        if message.startswith(("ingested", "transformed")):
            progress(f"[{label}] {message.split(' (')[0]} ({time.monotonic() - started:.0f} s)")

    with settings_at(root):
        return run_pipeline(log=log, **kwargs)


def build_world(
    tmp_path_factory,
    *,
    customers: int,
    days: int,
    seed: int,
    faults: tuple[str, ...] = (),
    first_run_days: int | None = None,
) -> World:
    """The world of these parameters, simulated and run through the pipeline once per session; read-only.

    `faults` are the simulator's (e.g. "drop:email:2026-03-03:0.02"). With `first_run_days`, the first run
    ingests only that many delivery days and transforms, the second run the rest (as days really arrive).
    """
    import simulator

    key = (customers, days, seed, tuple(faults), first_run_days)
    if key in _built:
        return _built[key]
    label = f"world {customers}x{days} seed {seed}" + (f" {','.join(faults)}" if faults else "")
    root = tmp_path_factory.mktemp(f"world_{customers}x{days}_s{seed}")
    progress(f"[{label}] simulating")
    simulator.simulate(root / "landing", customers=customers, days=days, seed=seed, faults=list(faults))
    first_run_warehouse = None
    if first_run_days is not None:
        delivered = sorted(p.name for p in (root / "landing" / "web").iterdir())
        run_pipeline_at(root, label, end=delivered[first_run_days - 1])
        first_run_warehouse = root / "first_run.duckdb"
        shutil.copyfile(root / "warehouse.duckdb", first_run_warehouse)
    runs = run_pipeline_at(root, label)
    _built[key] = World.at(root, runs, first_run_warehouse)
    return _built[key]


def copy_world(world: World, tmp_path_factory, name: str) -> World:
    """A clone of `world`'s files (landing, warehouse, publication, salt, Data Docs) in a fresh root, to change.

    The clone's runs are the original's; the Dagster instance of the build is not copied (it was ephemeral).
    """
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(world.root, root, symlinks=True, dirs_exist_ok=True)
    first_run = root / world.first_run_warehouse.name if world.first_run_warehouse else None
    return World.at(root, dict(world.runs), first_run)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    """The default simulated world (all dirt on, no sync faults), ingested and built through Dagster in two runs.

    The settings point at it for the session, so Dagster jobs a test starts itself run on this world.
    """
    built = build_world(tmp_path_factory, **WORLD, first_run_days=FIRST_RUN_DAYS)
    with settings_at(built.root):
        yield built


# --- the browser, for the tests of what a person sees ------------------------------------------------------


def chromium_path() -> str:
    """Debian's chromium (scripts/setup.sh installs it); Playwright's own browser download cannot work offline."""
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is missing: scripts/setup.sh installs it (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session's browser tests (each opens its own page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class PageErrors:
    """The console errors and uncaught exceptions of a page, as they happen."""

    messages: list[str] = field(default_factory=list)

    @classmethod
    def watch(cls, page) -> "PageErrors":
        errors = cls()
        page.on("console", lambda m: m.type == "error" and errors.messages.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: errors.messages.append(f"uncaught: {e}"))
        return errors
