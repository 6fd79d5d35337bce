"""Where the pipeline reads and writes, from environment variables with defaults under `.omnichannel/`.

Every path is resolved here and only here; Dagster resources read the same variables via `dg.EnvVar`,
and dbt's profile reads `OMNI_WAREHOUSE`, so no warehouse path is built in two places.
"""
import json
import os
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

_DEFAULTS = {
    "OMNI_HOME": ".omnichannel",
    "OMNI_LANDING_DIR": "{home}/landing",
    "OMNI_WAREHOUSE": "{home}/warehouse.duckdb",
    "OMNI_PUBLISH_DIR": "{home}/published",
    "OMNI_PHONE_REGION": "US",
    "OMNI_DUCKDB_MEMORY_LIMIT": "3GB",
    "OMNI_DUCKDB_THREADS": str(os.cpu_count() or 2),
}


def apply_defaults() -> None:
    """Fill in unset variables, as absolute paths, so every process (dbt included) sees the same ones."""
    home = Path(os.environ.get("OMNI_HOME") or _DEFAULTS["OMNI_HOME"]).resolve()
    os.environ["OMNI_HOME"] = str(home)
    for name, default in _DEFAULTS.items():
        if not os.environ.get(name):
            os.environ[name] = default.format(home=home)
    for name in ("OMNI_LANDING_DIR", "OMNI_WAREHOUSE", "OMNI_PUBLISH_DIR"):
        os.environ[name] = str(Path(os.environ[name]).resolve())
    Path(os.environ["OMNI_WAREHOUSE"]).parent.mkdir(parents=True, exist_ok=True)


def landing_dir() -> Path:
    apply_defaults()
    return Path(os.environ["OMNI_LANDING_DIR"])


def warehouse_path() -> Path:
    apply_defaults()
    return Path(os.environ["OMNI_WAREHOUSE"])


def publish_dir() -> Path:
    apply_defaults()
    return Path(os.environ["OMNI_PUBLISH_DIR"])


def phone_region() -> str:
    apply_defaults()
    return os.environ["OMNI_PHONE_REGION"]


def home_dir() -> Path:
    apply_defaults()
    return Path(os.environ["OMNI_HOME"])


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
        raise ValueError("OMNI_DBT_VARS must map dbt var names to values, e.g. "
                         f"'{{cross_system_agreement_severity: error}}'; got {text!r}")
    return json.dumps(value)
