"""What every benchmark needs: a scratch work folder and a pipeline rooted there, dbt run in its own process with
dbt's own per-model timings, the peak memory of the whole process tree, and a figure printed beside its floor.

The scripts in this folder import it as `_harness` (they run as scripts: `.venv/bin/python benchmarks/<name>.py`).
"""

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

try:  # the dev extra installs it; without it only finished processes' peaks are known (getrusage)
    import psutil
except ImportError:  # pragma: no cover
    psutil = None


def argument_parser(doc: str, *, workdir: str, seed: int) -> argparse.ArgumentParser:
    """A parser that prints the script's docstring as its help, with the options every benchmark has."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--workdir", type=Path, default=Path(workdir), help=f"scratch folder (default {workdir})")
    return parser


@dataclass(frozen=True)
class Pipeline:
    """A pipeline rooted in a work folder: where it lands, stores and publishes, and where dbt writes its target."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def target(self) -> Path:
        return self.root / "target"

    @property
    def logs(self) -> Path:
        return self.root / "logs"


def pipeline(root: Path, *, fresh: bool) -> Pipeline:
    """Points this process (and every process it starts, dbt included) at a pipeline under `root`.

    fresh: empty the folder first; otherwise keep what a last run left (a landing zone, a staged warehouse).
    """
    root = Path(root).resolve()
    if fresh:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    work = Pipeline(root)
    os.environ.update(
        OMNI_HOME=str(root),
        OMNI_LANDING_DIR=str(work.landing),
        OMNI_WAREHOUSE=str(work.warehouse),
        OMNI_PUBLISH_DIR=str(work.published),
    )
    from orchestration import settings

    settings.apply_defaults()
    return work


def simulate(work: Pipeline, *, customers: int, days: int, seed: int) -> None:
    """Simulates a landing zone for the pipeline, untimed but reported."""
    import simulator

    started = time.perf_counter()
    simulator.simulate(work.landing, customers=customers, days=days, seed=seed)
    print(f"simulate: {customers:,} customers, {days} days in {time.perf_counter() - started:.1f} s")


def add_landing_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark on a simulated landing zone: its size, and whether to reuse the last one."""
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep-landing", action="store_true", help="reuse a landing zone already simulated")


def simulated_landing(args: argparse.Namespace) -> Pipeline:
    """The pipeline in `args.workdir` with a simulated landing zone of about `args.events` events over `args.days`
    (the last one kept with `--keep-landing`), and no warehouse yet."""
    import simulator

    keep = args.keep_landing and (args.workdir / "landing").exists()
    work = pipeline(args.workdir, fresh=not keep)
    if not keep:
        simulate(work, customers=simulator.customers_for_events(args.events, args.days), days=args.days, seed=args.seed)
    work.warehouse.unlink(missing_ok=True)
    return work


def build(work: Pipeline) -> None:
    """Ingests, stages and builds the simulated world through the pipeline, untimed but reported."""
    from orchestration.runner import run_pipeline

    started = time.perf_counter()
    run_pipeline(log=lambda message: None)
    print(f"ingest, stage and build (untimed part): {time.perf_counter() - started:.1f} s")


@dataclass(frozen=True)
class DbtRun:
    wall_seconds: float
    model_seconds: dict[str, float]  # model name -> dbt's execution_time, in run order


def run_dbt(work: Pipeline, select: list[str], *, exclude: list[str] | None = None, what: str = "dbt run") -> DbtRun:
    """`dbt run --select ...` in its own process, as Dagster runs it (an in-process dbt keeps the DuckDB file open
    afterwards), with its target and logs in the work folder; dbt's per-model timings from run_results.json."""
    from orchestration import settings

    command = [str(Path(sys.executable).parent / "dbt"), "run", "--select", *select]
    if exclude:
        command += ["--exclude", *exclude]
    command += [
        "--project-dir",
        str(settings.DBT_PROJECT_DIR),
        "--profiles-dir",
        str(settings.DBT_PROJECT_DIR),
        "--target-path",
        str(work.target),
        "--log-path",
        str(work.logs),
        "--quiet",
    ]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stdout}{result.stderr}")
    results = json.loads((work.target / "run_results.json").read_text())["results"]
    return DbtRun(wall, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results})


class PeakMemory:
    """The peak resident memory of this process and all its descendants together, sampled from `start()` on.

    A daemon thread sums the tree every `interval` seconds (the benchmark and a dbt process beside it, each holding
    DuckDB memory, count together); getrusage adds the peaks of finished processes a sample may have missed.
    """

    def __init__(self, interval: float = 0.1):
        self._interval = interval
        self._peak = 0

    @classmethod
    def start(cls, interval: float = 0.1) -> "PeakMemory":
        memory = cls(interval)
        if psutil is not None:
            threading.Thread(target=memory._sample, daemon=True).start()
        return memory

    def _sample(self) -> None:
        me = psutil.Process()
        while True:
            total = 0
            for process in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # it ended between listing and reading
                    total += process.memory_info().rss
            self._peak = max(self._peak, total)
            time.sleep(self._interval)

    def sampled_gb(self) -> float:
        """The peak the sampler saw since `start()`, in GB: unlike `gb()`, without the peaks of what this process
        or its finished children held before (a simulator run earlier in the same process)."""
        return self._peak / 1024**3

    def gb(self) -> float:
        """The peak so far, in GB."""
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # ru_maxrss is in KiB on Linux
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        return max(self._peak, own, children) / 1024**3


def landing_files(landing: Path, days: set[str] | None = None) -> list[Path]:
    """The sources' files in a landing zone (not `_control` or `_truth`), of these delivery days or all."""
    return sorted(
        p
        for p in landing.glob("*/*/*")
        if p.is_file() and not p.parts[-3].startswith("_") and (days is None or p.parts[-2] in days)
    )


def read_files_floor(files: list[Path]) -> tuple[float, int]:
    """DuckDB scanning these landing files with its own readers, no loading: the floor of any work on them."""
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    rows = 0
    jsonl = [str(p) for p in files if ".jsonl" in p.name]
    csv = [str(p) for p in files if ".csv" in p.name]
    if jsonl:
        rows += con.execute(
            "select count(*) from read_json(?, format='newline_delimited', columns={'j': 'JSON'}, "
            "records=false, ignore_errors=true)",
            [jsonl],
        ).fetchall()[0][0]
    for path in csv:
        rows += con.execute(
            "select count(*) from read_csv(?, all_varchar=true, ignore_errors=true)", [path]
        ).fetchall()[0][0]
    return time.perf_counter() - started, rows


def beside_floor(seconds: float, floor_seconds: float) -> str:
    """A time as a multiple of the floor measured in the same run (machines are noisy: never a floor from a table)."""
    return f"{seconds / floor_seconds:.1f}x the floor"
