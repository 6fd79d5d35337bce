"""Where the pipeline reads and writes: environment variables, with defaults under `.omnichannel/`.

Reading a setting has no side effect: nothing here writes the environment or creates a folder. Dagster
resources read the same variables through `dg.EnvVar` (`orchestration/defs/resources.py`); an entry point that
starts other processes (the CLI, a benchmark) calls `export_defaults()` once, so that dbt, a child of it, sees
the same absolute paths.
"""

import json
import os
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# name -> default; "{home}" is OMNI_HOME, itself `.omnichannel` in the working directory by default.
DEFAULTS = {
    "OMNI_HOME": ".omnichannel",
    "OMNI_LANDING_DIR": "{home}/landing",
    "OMNI_WAREHOUSE": "{home}/warehouse.duckdb",
    "OMNI_PUBLISH_DIR": "{home}/published",
    "OMNI_DATA_DOCS_DIR": "{home}/data_docs",
    "OMNI_PHONE_REGION": "US",
    "OMNI_DUCKDB_MEMORY_LIMIT": "3GB",
    "OMNI_DUCKDB_THREADS": str(os.cpu_count() or 2),
    "OMNI_DBT_TARGET": "duckdb",
    # A landing line longer than this is quarantined (`line longer than N bytes`) instead of loaded.
    "OMNI_MAX_LINE_BYTES": str(2 * 1024 * 1024),
    # The share of a mart's published rows it may lose before the row-count check blocks publication.
    "OMNI_PUBLISH_MAX_ROW_DROP": "0.5",
    # How many releases the publish dir keeps (the current one always among them); older ones are deleted.
    "OMNI_KEEP_RELEASES": "3",
    # When the daily catch-up schedule ingests what the landing-zone sensor missed (cron, UTC).
    "OMNI_DAILY_CRON": "0 2 * * *",
    # The loopback port `omnichannel ui` / `omnichannel serve-docs` serve the reports and Data Docs on.
    "OMNI_DOCS_PORT": "3070",
    # The base URL the pipeline's metadata links the reports and Data Docs pages at (`off`: no http links).
    "OMNI_DOCS_URL": "http://127.0.0.1:{port}",
}
PATH_SETTINGS = ("OMNI_HOME", "OMNI_LANDING_DIR", "OMNI_WAREHOUSE", "OMNI_PUBLISH_DIR", "OMNI_DATA_DOCS_DIR")


def get(name: str) -> str:
    """The setting's value: the environment's if set and not empty, else its default (paths made absolute)."""
    value = os.environ.get(name) or DEFAULTS[name]
    if name in PATH_SETTINGS:
        home = Path(os.environ.get("OMNI_HOME") or DEFAULTS["OMNI_HOME"]).resolve()
        value = str(Path(value.format(home=home)).resolve())
    elif name == "OMNI_DOCS_URL":
        value = value.format(port=get("OMNI_DOCS_PORT"))
    return value


def resolved() -> dict[str, str]:
    """Every setting, resolved: the environment a child process (dbt) needs to see what this one sees."""
    return {name: get(name) for name in DEFAULTS}


def export_defaults() -> None:
    """Put every resolved setting into this process's environment; only entry points call this, once."""
    os.environ.update(resolved())


# Kept for the entry points and scripts that called it before settings became side-effect free.
apply_defaults = export_defaults


def home_dir() -> Path:
    return Path(get("OMNI_HOME"))


def landing_dir() -> Path:
    return Path(get("OMNI_LANDING_DIR"))


def warehouse_path() -> Path:
    return Path(get("OMNI_WAREHOUSE"))


def publish_dir() -> Path:
    return Path(get("OMNI_PUBLISH_DIR"))


def data_docs_dir() -> Path:
    return Path(get("OMNI_DATA_DOCS_DIR"))


def phone_region() -> str:
    return get("OMNI_PHONE_REGION")


def dbt_vars() -> str | None:
    """`OMNI_DBT_VARS`: dbt vars for every `dbt build` the pipeline runs (a YAML or JSON mapping, e.g.
    `{cross_system_agreement_severity: error}`), as the JSON `dbt --vars` takes; None when unset."""
    text = os.environ.get("OMNI_DBT_VARS", "").strip()
    if not text:
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"OMNI_DBT_VARS is neither YAML nor JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(
            "OMNI_DBT_VARS must map dbt var names to values, e.g. "
            f"'{{cross_system_agreement_severity: error}}'; got {text!r}"
        )
    return json.dumps(value)
