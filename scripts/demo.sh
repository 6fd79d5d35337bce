#!/usr/bin/env bash
# From nothing to a populated warehouse: install, simulate a landing zone, run every asset through Dagster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMNI_HOME="${OMNI_HOME:-$PWD/.omnichannel}"
export OMNI_LANDING_DIR="${OMNI_LANDING_DIR:-$OMNI_HOME/landing}"
export DAGSTER_HOME="${DAGSTER_HOME:-$OMNI_HOME/dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp orchestration/dagster.yaml "$DAGSTER_HOME/dagster.yaml"
if [ -z "$(ls -A "$OMNI_LANDING_DIR" 2>/dev/null)" ]; then
  .venv/bin/omnichannel simulate --out "$OMNI_LANDING_DIR" --customers "${DEMO_CUSTOMERS:-2000}" --days "${DEMO_DAYS:-14}" --seed 7
fi
.venv/bin/omnichannel run
if [ -f ../shared/contract-check.py ]; then .venv/bin/python ../shared/contract-check.py || true; fi
