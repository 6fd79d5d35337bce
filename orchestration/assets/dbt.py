"""The dbt project's models and tests, as one multi-asset wired to the raw assets by source name."""
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration import settings
from orchestration.assets.raw import WAREHOUSE_POOL
from orchestration.dbt_project import dbt_project

# A fresh clone that skipped `prepare-and-package` still loads: parse once, offline.
if not dbt_project.manifest_path.exists():
    dbt_project.preparer.prepare(dbt_project)


class OmnichannelTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer folder (staging, intermediate, marts)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=OmnichannelTranslator(),
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Builds and tests the dbt models: staging, identity, journeys and marts."""
    try:
        dbt_vars = settings.dbt_vars()
    except ValueError as exc:
        raise dg.Failure(description=str(exc)) from None
    invocation = dbt.cli(["build", *(["--vars", dbt_vars] if dbt_vars else [])], context=context)
    yield from invocation.stream()
    # dbt holds the DuckDB file until its process exits; the next step opens that file.
    invocation.process.wait()
