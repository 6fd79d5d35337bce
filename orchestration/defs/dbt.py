"""The dbt project's models and tests, as one multi-asset wired to the raw assets by source name."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration import settings
from orchestration.dbt_targets import dbt_targets_dir, keep_parse_state
from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.resources import WAREHOUSE_POOL, PhoneNumbering, Warehouse


class OmnichannelTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer folder (staging, intermediate, marts)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """These variables set while dbt starts: dagster-dbt hands the process environment to its subprocess."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=OmnichannelTranslator(),
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse, phones: PhoneNumbering):
    """Builds and tests the dbt models: staging, identity, journeys and marts."""
    try:
        dbt_vars = settings.dbt_vars()
    except ValueError as exc:
        raise dg.Failure(description=str(exc)) from None
    targets = dbt_targets_dir(warehouse)
    environment = {
        **warehouse.dbt_environment(),
        "OMNI_PHONE_REGION": phones.default_region,
        # dagster-dbt puts each run's target folder under DBT_TARGET_PATH and starts it from the parse state there.
        "DBT_TARGET_PATH": str(targets),
    }
    with _environment(environment):
        # Unit tests check the SQL, not the data: dbt's advice is to run them in development and CI
        # (tests/test_dbt_unit_tests.py does), not on every production build.
        build = ["build", "--exclude-resource-type", "unit_test", *(["--vars", dbt_vars] if dbt_vars else [])]
        invocation = dbt.cli(build, context=context)
    yield from invocation.stream()
    # dbt holds the DuckDB file until its process exits; the next step opens that file.
    invocation.process.wait()
    keep_parse_state(invocation.target_path, targets)
