#!/usr/bin/env bash
# Installs what the tests need, then runs all of them (slow ones included), naming each test as it finishes and
# printing the progress of the worlds built through the pipeline, then the slowest steps.
# The modules run in one pytest-xdist worker per core (up to four; OMNI_TEST_WORKERS overrides, 0 runs them in
# this process), grouped so that no simulated world is built twice (tests/conftest.py). Their temporary worlds
# go to /dev/shm when it exists: the pipeline's DuckDB files and Dagster's SQLite event log, written on every
# event, are throwaway there.
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not slow"` while iterating.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
workers="${OMNI_TEST_WORKERS:-$(.venv/bin/python -c 'import os; print(min(4, len(os.sched_getaffinity(0))))')}"
args=(-v --durations=20 -n "$workers" --dist loadgroup --no-loadscope-reorder)
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  basetemp="$(mktemp -d /dev/shm/omnichannel-tests.XXXXXX)"
  trap 'rm -rf "$basetemp"' EXIT
  args+=(--basetemp "$basetemp")
fi
.venv/bin/python -m pytest "${args[@]}" "$@"
