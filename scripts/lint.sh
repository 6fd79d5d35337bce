#!/usr/bin/env bash
# Lints the Python (ruff: rules and format) and the dbt models (sqlfluff), as CI does; exits non-zero on findings.
#   scripts/lint.sh          check only
#   scripts/lint.sh --fix    apply what the tools can fix (ruff check --fix, ruff format, sqlfluff fix), then check
# Rules and their exceptions live in pyproject.toml ([tool.ruff]) and .sqlfluff.
set -uo pipefail
cd "$(dirname "$0")/.."

fix=false
case "${1:-}" in
  "") ;;
  --fix) fix=true ;;
  *) echo "usage: scripts/lint.sh [--fix]" >&2; exit 2 ;;
esac

bin=.venv/bin
for tool in ruff sqlfluff; do
  if [ ! -x "$bin/$tool" ]; then
    echo "lint: $bin/$tool is missing; run scripts/setup.sh (it installs the dev extra)" >&2
    exit 2
  fi
done

models=dbt_project/models
summary=()
failed=0

# Runs one step, timing it; a check that fails marks the whole run failed.
step() {
  local name=$1; shift
  local started=$SECONDS
  "$@"
  local rc=$?
  local took=$((SECONDS - started))
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf '  %-22s ok      %3d s' "$name" "$took")")
  else
    summary+=("$(printf '  %-22s FAILED  %3d s' "$name" "$took")")
    failed=1
  fi
}

started_all=$SECONDS
if $fix; then
  # Fixes first; what they leave is reported by the checks below. sqlfluff fix exits non-zero when some
  # findings cannot be fixed: the check after it says which.
  "$bin/ruff" check --fix --quiet .
  "$bin/ruff" format --quiet .
  "$bin/sqlfluff" fix --quiet "$models" >/dev/null
fi

step "ruff check" "$bin/ruff" check --quiet --output-format concise .
step "ruff format --check" "$bin/ruff" format --check --output-format concise .
step "sqlfluff lint" "$bin/sqlfluff" lint "$models"

echo "lint summary ($((SECONDS - started_all)) s):"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  $fix || echo "  scripts/lint.sh --fix applies what the tools can fix; see pyproject.toml and .sqlfluff for the rules"
  exit 1
fi
