"""Shared fixtures: simulated worlds run end to end through Dagster, each built once per test session.

A pipeline run costs minutes, so built worlds are shared:

- `build_world(tmp_path_factory, customers=, days=, seed=, faults=(), first_run_days=None)` builds a world once per
  session for each set of parameters and returns the same `World` to every caller after that. A shared world is
  read-only: a test that changes one (forget someone, re-deliver files, run the pipeline again) works on
  `copy_world(world, tmp_path_factory, name)`, a clone of its files in a fresh root, instead of building its own.
- `world` is the default world (`WORLD`, all dirt on, no sync faults), built in two runs as deliveries really
  arrive: its first `first_run_days` delivery days, then the rest (`World.first_run_warehouse` keeps the
  warehouse as the first run left it, for the tests of what a later run changes).
- `metrics_world` is a week-long world with weekly retention periods, shared by the metrics and contact-policy
  tests.
- Under pytest-xdist (`scripts/test.sh` runs one worker per core, up to four), every module runs whole in one
  worker, and all the modules of one shared world run in the same worker, so no world is built twice; the
  heaviest groups are handed out first. Workers have no terminal: their progress lines reach it through a file
  that the controller follows.
- Tests that need a built world are marked `slow` (automatically, by the fixtures they use; those that run dbt or
  Dagster in a subprocess say so themselves); `-m "not slow"` skips them while iterating, `scripts/test.sh` runs
  everything.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

WORLD = dict(customers=800, days=6, seed=3)
# A week-long world, built with weekly retention periods so that its cohorts are a period apart.
METRICS_WORLD = dict(customers=300, days=7, seed=11)
METRICS_ENV = {"OMNI_RETENTION_PERIOD": "week"}
# The default world's first run ingests this many delivery days; its second run the rest.
FIRST_RUN_DAYS = 5

# Fixtures that build or copy a world through the whole pipeline: every test using one is marked slow.
SLOW_FIXTURES = {"world", "metrics_world", "forget_world", "gated", "misaddressed", "incremental"}
# Fixtures of worlds shared across modules: every module using one runs in that world's xdist group.
SHARED_WORLDS = {"world": "default_world", "metrics_world": "metrics_world"}
# xdist hands groups out in this order (then every other module as collected): the longest first, so that no
# worker is left with a long group at the end while the other idles.
HEAVY_GROUPS = [
    "default_world",
    "test_forget",
    "test_incremental",
    "test_quality_gate",
    "metrics_world",
    "test_run_recovery",
    "test_automation",
    "test_simulator",
    "test_attribution_exact",
    "test_cli",
    "test_landing_fingerprints",
]


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
    return set_environment(wanted)


def set_environment(values: dict[str, str]) -> dict[str, str | None]:
    """Sets these environment variables; returns their previous values, for `restore_settings`."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    return previous


def restore_settings(previous: dict[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def environment(values: dict[str, str]):
    """These environment variables set for the duration, then the previous values restored."""
    previous = set_environment(values)
    try:
        yield
    finally:
        restore_settings(previous)


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
# Where xdist workers append their progress lines for the controller to print (they have no terminal).
PROGRESS_FILE = "OMNI_TEST_PROGRESS_FILE"


class _ProgressRelay:
    """In the xdist controller: follows the workers' progress file and prints each new line on the terminal."""

    def __init__(self, terminal, path: Path):
        self.terminal, self.path, self.offset = terminal, path, 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._follow, name="progress-relay", daemon=True)
        self.thread.start()

    def _print_new_lines(self) -> None:
        with self.path.open("rb") as file:
            file.seek(self.offset)
            chunk = file.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            self.terminal.write_line(line)

    def _follow(self) -> None:
        while not self.stopped.wait(1.0):
            self._print_new_lines()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self._print_new_lines()


@pytest.hookimpl(trylast=True)  # after the terminal reporter is registered
def pytest_configure(config):
    global _config
    _config = config
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    is_controller = not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None)
    if is_controller and terminal is not None and terminal.verbosity >= 0:
        # Workers are started after this hook and inherit the environment: they find the file through it.
        path = Path(tempfile.mkdtemp(prefix="omni-progress-")) / "progress.log"
        path.touch()
        os.environ[PROGRESS_FILE] = str(path)
        config._omni_progress = _ProgressRelay(terminal, path)


def pytest_unconfigure(config):
    relay = getattr(config, "_omni_progress", None)
    if relay is not None:
        relay.stop()
        shutil.rmtree(relay.path.parent, ignore_errors=True)


def progress(message: str) -> None:
    """One line on the terminal, past pytest's output capture (unless -q); from an xdist worker, through the
    controller."""
    worker = getattr(_config, "workerinput", None)
    if worker is not None:
        if os.environ.get(PROGRESS_FILE):
            with open(os.environ[PROGRESS_FILE], "a") as file:  # one short write per line: appends stay whole
                file.write(f"    [{worker['workerid']}] {message}\n")
        return
    terminal = _config and _config.pluginmanager.get_plugin("terminalreporter")
    if terminal is None or terminal.verbosity < 0:
        return
    capture = _config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        terminal.write_line(f"    {message}")


def _group_of_modules(items) -> dict[str, str]:
    """Module path -> its xdist group: the shared world one of its tests uses, else the module itself."""
    groups = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        shared = [SHARED_WORLDS[name] for name in SHARED_WORLDS if name in getattr(item, "fixturenames", ())]
        if shared:
            groups[module] = shared[0]
        else:
            groups.setdefault(module, Path(module).stem)
    return groups


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups
def pytest_collection_modifyitems(config, items):
    groups = _group_of_modules(items)
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        item.add_marker(pytest.mark.xdist_group(groups[item.nodeid.split("::")[0]]))
    # The heaviest groups first (a stable sort keeps each module's own order); also without xdist, so that a
    # module's tests stay together and its module-scoped world is built once.
    rank = {group: i for i, group in enumerate(HEAVY_GROUPS)}
    items.sort(key=lambda item: rank.get(groups[item.nodeid.split("::")[0]], len(rank)))


def pytest_collection_finish(session):
    """In an xdist worker with `--dist loadgroup`: refuse to go on if xdist did not take the groups (a pytest it
    does not support), for then every shared world would be built once per worker, silently."""
    config = session.config
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    ignored = [item.nodeid for item in session.items if "@" not in item.nodeid]
    if ignored:
        raise pytest.UsageError(
            f"pytest-xdist did not group {ignored[0]} (and {len(ignored) - 1} more): pytest {pytest.__version__} "
            "with this pytest-xdist ignores `--dist loadgroup`; install what pyproject.toml pins"
        )


# --- built worlds, shared ----------------------------------------------------------------------------------

_built: dict[tuple, World] = {}


def progress_log(label: str, keep=None):
    """A `log` for `run_pipeline` that reports each day ingested and the transform as progress, seconds since it
    was made included; every message also goes to `keep` (say a list's `append`), if given."""
    started = time.monotonic()

    def log(message: str) -> None:
        if keep is not None:
            keep(message)
        if message.startswith(("ingested", "transformed")):
            progress(f"[{label}] {message.split(' (')[0]} ({time.monotonic() - started:.0f} s)")

    return log


def run_pipeline_at(root: Path, label: str, **kwargs) -> dict:
    """`run_pipeline` on the world at `root` (settings pointed there meanwhile), reporting progress."""
    from orchestration.runner import run_pipeline

    with settings_at(root):
        return run_pipeline(log=progress_log(label), **kwargs)


def dbt_process(*args: str, warehouse: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`dbt <args>` on `warehouse` in its own process, as a developer runs it; its target folder (`tmp_path/target`:
    run_results.json, manifest.json) is its own, so the manifest Dagster loads is left alone."""
    from orchestration.settings import DBT_PROJECT_DIR

    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args]
        + ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        + ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env={**os.environ, "OMNI_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def run_dbt(command: str, select: list[str], warehouse: Path, tmp_path: Path) -> None:
    """`dbt <command> --select <select>` on `warehouse` (dbt_process), failing the test with dbt's output if dbt
    fails."""
    result = dbt_process(command, "--select", *select, warehouse=warehouse, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def omnichannel_cli(*args: str, root: Path | None = None, timeout: int = 1800) -> subprocess.CompletedProcess:
    """The `omnichannel` command as a user runs it, in its own process, with the test's settings (or, given
    `root`, every setting pointed at the world there), from the project folder."""
    from orchestration.settings import PROJECT_ROOT

    with settings_at(root) if root is not None else contextlib.nullcontext():
        return subprocess.run(
            [sys.executable, "-m", "omnichannel", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ),
            cwd=PROJECT_ROOT,
        )


def build_world(
    tmp_path_factory,
    *,
    customers: int,
    days: int,
    seed: int,
    faults: tuple[str, ...] = (),
    first_run_days: int | None = None,
    env: dict[str, str] | None = None,
) -> World:
    """The world of these parameters, simulated and run through the pipeline once per session; read-only.

    `faults` are the simulator's (e.g. "drop:email:2026-03-03:0.02"). With `first_run_days`, the first run
    ingests only that many delivery days and transforms, the second run the rest (as days really arrive). `env`
    is set while the world is built (dbt vars the project reads from the environment, say).
    """
    import simulator

    key = (customers, days, seed, tuple(faults), first_run_days, tuple(sorted((env or {}).items())))
    if key in _built:
        return _built[key]
    label = f"world {customers}x{days} seed {seed}" + (f" {','.join(faults)}" if faults else "")
    root = tmp_path_factory.mktemp(f"world_{customers}x{days}_s{seed}")
    progress(f"[{label}] simulating")
    simulator.simulate(root / "landing", customers=customers, days=days, seed=seed, faults=list(faults))
    first_run_warehouse = None
    with environment(env or {}):
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

    The clone's runs are the original's, and so is its Dagster instance (`dagster_home/`, whose settings hold no
    absolute path): point DAGSTER_HOME or OMNI_HOME at the clone and the gate reads the checks the build recorded.
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


@pytest.fixture(scope="session")
def metrics_world(tmp_path_factory) -> World:
    """A week-long world (300 customers x 7 days, every kind of dirt and contact-policy misfire) built with weekly
    retention periods, so that its cohorts are a period apart; the environment keeps them weekly meanwhile."""
    built = build_world(tmp_path_factory, **METRICS_WORLD, env=METRICS_ENV)
    with environment(METRICS_ENV):
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
