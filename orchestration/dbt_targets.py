"""Where dbt's run folders go, and the parse state one run leaves for the next.

dbt parses the whole project again whenever the profile it parsed with differs, and the profile holds the
warehouse's path. dagster-dbt starts every invocation from `<DBT_TARGET_PATH>/partial_parse.msgpack` but never
writes it back, so with one shared state every warehouse but the one it was made for paid a full parse on every
run. Each warehouse keeps its own folder beside it (`<warehouse>.dbt/`) and the state its last run left there.
"""

import os
import shutil
from pathlib import Path

PARSE_STATE = "partial_parse.msgpack"
# Run folders (compiled SQL, run_results.json, dbt.log) kept for a look after the fact; older ones are removed.
KEEP_RUN_FOLDERS = 3


def dbt_targets_dir(warehouse) -> Path:
    """`<warehouse file>.dbt/` beside the warehouse (its resource's `path`)."""
    path = Path(warehouse.path).resolve()
    return path.with_name(path.name + ".dbt")


def keep_parse_state(run_target: Path, targets: Path) -> None:
    """Make `run_target`'s parse state the next run's starting point (atomically), and prune old run folders."""
    state = Path(run_target) / PARSE_STATE
    if state.is_file():
        staged = targets / (PARSE_STATE + ".new")
        shutil.copyfile(state, staged)
        os.replace(staged, targets / PARSE_STATE)
    runs = sorted((p for p in targets.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[KEEP_RUN_FOLDERS:]:
        shutil.rmtree(old, ignore_errors=True)
