"""The dbt project as dagster-dbt sees it (alone in this module, so `prepare-and-package --file` can load it)."""
from dagster_dbt import DbtProject

from orchestration import settings

settings.apply_defaults()

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
