"""Landing to published through the pipeline's own runs (the path of `omnichannel run`): a full build of a history,
then one more delivery day on top of it, then a run with nothing new, each beside DuckDB merely reading its files.

    .venv/bin/python benchmarks/end_to_end.py --events 1000000 [--days 30] [--workdir /tmp/omni-e2e]

The simulated world's last regular day is held back: the full build ingests every delivery day before it, the
incremental run delivers that day (late arrivals of earlier days among its lines) and runs again, and a last run
with nothing new shows the fixed cost. Per run: wall time; the time per stage from Dagster's step statistics
(ingestion, reference lists, dbt, checks, publish and report; "other" is the rest: run setup, Dagster's events);
and the peak resident memory of the whole process tree (this process, which runs Dagster, and dbt's; the
simulator ran in a process of its own), sampled. The floor is DuckDB reading the files the run loads (none for the
run with nothing new). `--keep` reuses a simulated landing zone.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from _harness import PeakMemory, argument_parser, beside_floor, landing_files, pipeline, read_files_floor

STAGES = ("ingestion", "reference", "dbt", "checks", "publish")


def stage_of(step_key: str) -> str:
    """The stage a Dagster step belongs to, by the project's step names."""
    if step_key in ("raw__email_addresses", "raw__phone_numbers"):
        return "reference"
    if step_key.startswith("raw_") or step_key.startswith("raw__"):
        return "ingestion"
    if step_key == "dbt_models":
        return "dbt"
    if step_key.startswith("published__"):
        return "publish"
    return "checks"


def stage_seconds(run_ids: set[str]) -> dict[str, float]:
    """Seconds per stage over these runs' steps, from the instance's step statistics."""
    from orchestration.runner import dagster_instance

    instance = dagster_instance()
    seconds = defaultdict(float)
    for run_id in run_ids:
        for step in instance.get_run_step_stats(run_id):
            if step.start_time and step.end_time:
                seconds[stage_of(step.step_key)] += step.end_time - step.start_time
    return dict(seconds)


def deliver(simulated: Path, landing: Path, days: list[str]) -> None:
    """Move these delivery days' folders and control totals into the landing zone the pipeline reads."""
    from orchestration.ingestion.landing import delivery_day_paths

    for day in days:
        for path in delivery_day_paths(simulated, day):
            destination = landing / path.relative_to(simulated)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, destination)


def timed_run(label: str, files: list[Path]) -> dict:
    """One `run_pipeline`, its floor measured just before it on the files it is about to load."""
    from orchestration.runner import run_pipeline

    floor, lines = read_files_floor(files) if files else (0.0, 0)
    memory = PeakMemory.start()
    details = Path(os.environ["OMNI_HOME"]) / "logs" / (label.split(" (")[0].replace(" ", "-") + ".log")
    details.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # Dagster's events and dbt's output go to a file, as `omnichannel run` sends them.
    with details.open("w") as file, contextlib.redirect_stdout(file), contextlib.redirect_stderr(file):
        runs = run_pipeline(log=lambda message: None)
    wall = time.perf_counter() - started
    if not runs.get("published") and runs.get("success") is not True:
        raise SystemExit(f"{label}: the run failed: {runs}")
    run_ids = {v for k, v in runs.items() if isinstance(v, str) and len(v) == 36}
    stages = stage_seconds(run_ids)
    row = dict(label=label, wall=wall, floor=floor, lines=lines, peak_gb=memory.sampled_gb(), stages=stages)
    parts = ", ".join(f"{stage} {stages.get(stage, 0.0):.1f} s" for stage in STAGES)
    other = wall - sum(stages.values())
    against = f", {beside_floor(wall, floor)} ({lines:,} lines read in {floor:.1f} s)" if files else ""
    print(
        f"{label}: {wall:.1f} s{against}; {parts}, other {other:.1f} s; "
        f"peak memory {row['peak_gb']:.2f} GB; published: {bool(runs.get('published'))}"
    )
    return row


def main() -> int:
    parser = argument_parser(__doc__, workdir="/tmp/omni-e2e", seed=11)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="reuse the simulated landing zone of a last run")
    args = parser.parse_args()

    simulated = args.workdir / "simulated"
    keep = args.keep and simulated.exists()
    work = pipeline(args.workdir / "pipeline", fresh=True)
    import simulator

    if not keep:
        shutil.rmtree(simulated, ignore_errors=True)
        customers = simulator.customers_for_events(args.events, args.days)
        started = time.perf_counter()
        # In its own process, so that the peaks below are the pipeline's, not the simulator's leftovers.
        command = [sys.executable, "-m", "omnichannel", "simulate", "--out", str(simulated)]
        command += ["--customers", str(customers), "--days", str(args.days), "--seed", str(args.seed)]
        subprocess.run(command, check=True, capture_output=True)
        print(f"simulate: {customers:,} customers, {args.days} days in {time.perf_counter() - started:.1f} s (untimed)")
    # A copy, so that --keep can deliver the same days again.
    source = args.workdir / "delivering"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(simulated, source)
    days = sorted(p.name for p in (source / "web").iterdir())
    held_back = days[args.days - 1]  # the last regular day; the days after it hold late arrivals only
    history = [d for d in days if d < held_back]

    deliver(source, work.landing, history)
    rows = [timed_run(f"full build ({len(history)} delivery days)", landing_files(work.landing))]
    deliver(source, work.landing, [held_back])
    rows.append(timed_run(f"one more day ({held_back})", landing_files(work.landing, {held_back})))
    rows.append(timed_run("nothing new", []))

    print()
    print("| run | lines | wall | floor | ratio | " + " | ".join(STAGES) + " | other | peak memory |")
    print("|---|---|---|---|---|" + "---|" * len(STAGES) + "---|---|")
    for row in rows:
        other = row["wall"] - sum(row["stages"].values())
        ratio = f"{row['wall'] / row['floor']:.1f}x" if row["floor"] else "-"
        floor = f"{row['floor']:.1f} s" if row["floor"] else "-"
        print(
            f"| {row['label']} | {row['lines']:,} | {row['wall']:.1f} s | {floor} | {ratio} | "
            + " | ".join(f"{row['stages'].get(s, 0.0):.1f} s" for s in STAGES)
            + f" | {other:.1f} s | {row['peak_gb']:.2f} GB |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
