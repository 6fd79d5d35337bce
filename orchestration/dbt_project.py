"""The dbt project as dagster-dbt sees it (alone in this module, so `prepare-and-package --file` can load it)."""
import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration import settings

settings.apply_defaults()

# dagster-dbt runs `dbt` as a subprocess: the one installed beside this interpreter must be found, venv on PATH or not.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
