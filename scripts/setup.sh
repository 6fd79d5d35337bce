#!/usr/bin/env bash
# Installs the project into .venv and prepares the dbt manifest offline. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
.venv/bin/python -m pip install --quiet -e '.[dev]'   # the dev extra: ruff, sqlfluff (scripts/lint.sh), psutil (benchmarks)
PATH="$PWD/.venv/bin:$PATH" .venv/bin/dagster-dbt project prepare-and-package --file orchestration/defs/dbt_project.py >/dev/null
