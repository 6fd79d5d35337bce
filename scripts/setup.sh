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
# What that parse's profile was, so a new warehouse's first build can start from it (orchestration/dbt_targets.py).
.venv/bin/python -m orchestration.dbt_targets dbt_project
# The BI dashboard (bi/, Evidence) as locked: npm ci again only when the lockfile changed since the last one.
if command -v npm >/dev/null 2>&1; then
  locked="$(sha256sum bi/package-lock.json | cut -d' ' -f1)"
  if [ "$(cat bi/node_modules/.omnichannel-lock 2>/dev/null)" != "$locked" ]; then
    echo "setup: installing the dashboard's npm packages (npm ci in bi/)"
    (cd bi && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$locked" > bi/node_modules/.omnichannel-lock
  fi
else
  echo "setup: npm is missing (Node 20 brings it): the dashboard's build test will be skipped" >&2
fi
# The browser tests drive Debian's chromium through Playwright (Playwright's own browser download needs the internet).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then as_root=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo -n"
  else as_root="no"; fi
  if [ "$as_root" = no ]; then
    echo "setup: chromium is missing and apt-get needs root: the browser tests will be skipped" >&2
  else
    echo "setup: installing Debian's chromium for the browser tests (apt-get)"
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
fi
