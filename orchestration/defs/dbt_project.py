"""The dbt project as dagster-dbt sees it (alone in this module, so `prepare-and-package --file` can load it)."""

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
