#!/usr/bin/env bash
# Installs the project into .venv and prepares the dbt manifest offline, each again only when what it is made from
# changed since (a stamp beside it). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
# Installed again only when pyproject.toml changed since the last install: the package itself is editable.
installed="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat .venv/.omnichannel-installed 2>/dev/null)" != "$installed" ]; then
  .venv/bin/python -m pip install --quiet -e '.[dev]'   # the dev extra: ruff, sqlfluff (scripts/lint.sh), psutil (benchmarks)
  echo "$installed" > .venv/.omnichannel-installed
fi
# The manifest Dagster loads, parsed again only when what it is made from changed: the dbt project's files, the
# module that names it, the dbt and dagster-dbt versions, and the OMNI_ and DBT_ environment its env_var() reads.
parsed="$(
  {
    find dbt_project -type f -not -path 'dbt_project/target/*' -not -path 'dbt_project/logs/*' \
      -not -path 'dbt_project/dbt_packages/*' -not -name .user.yml -print0 | sort -z | xargs -0 sha256sum
    sha256sum orchestration/defs/dbt_project.py
    .venv/bin/python -c 'from importlib.metadata import version as v; print(*map(v, ("dbt-core", "dbt-duckdb", "dagster-dbt")))'
    env | grep -E '^(OMNI|DBT)_' | sort || true
  } | sha256sum | cut -d' ' -f1
)"
target=dbt_project/target
if [ "$(cat "$target/.omnichannel-parsed" 2>/dev/null)" != "$parsed" ] || [ ! -f "$target/manifest.json" ] \
  || [ ! -f "$target/partial_parse.profile.json" ]; then
  rm -f "$target/.omnichannel-parsed"
  PATH="$PWD/.venv/bin:$PATH" .venv/bin/dagster-dbt project prepare-and-package --file orchestration/defs/dbt_project.py >/dev/null
  # What that parse's profile was, so a new warehouse's first build can start from it (orchestration/dbt_targets.py).
  .venv/bin/python -m orchestration.dbt_targets dbt_project
  echo "$parsed" > "$target/.omnichannel-parsed"
fi
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
