#!/usr/bin/env bash
# Installs what the tests need, then runs all of them (slow ones included), naming each test as it runs and
# printing the progress of the worlds built through the pipeline, then the slowest steps.
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not slow"` while iterating.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python -m pytest -v --durations=20 "$@"
