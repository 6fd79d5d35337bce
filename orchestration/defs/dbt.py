"""The dbt project's models and tests, as one multi-asset wired to the raw assets by source name."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration import settings
from orchestration.dbt_targets import (
    dbt_targets_dir,
    keep_parse_state,
    profile_connection_info,
    seed_parse_state,
)
from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.resources import WAREHOUSE_POOL, PhoneNumbering, Warehouse
from orchestration.reporting.previews import failing_rows_markdown, preview_markdown, row_count

# Raw tables the ingestion assets write as a side effect (no asset of their own produces them): observed after dbt.
BOOKKEEPING_TABLES = ("ingest_log", "erased_daily_totals")


class OmnichannelTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer folder (staging, intermediate, marts), and seeds with the reference data."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        if dbt_resource_props.get("resource_type") == "seed":
            return "reference"  # the seeds are reference data, beside the phone and email tables
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


class DbtBuildConfig(dg.Config):
    """Launchpad options of the dbt build."""

    full_refresh: bool = False
    "Rebuild the incremental models from scratch (they otherwise restage only the delivery days that changed)."


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=OmnichannelTranslator(),
    pool=WAREHOUSE_POOL,
)
def dbt_models(
    context: dg.AssetExecutionContext,
    config: DbtBuildConfig,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    phones: PhoneNumbering,
):
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
        # At debug level the run folder's dbt.log writes out every statement dbt sends (the models' and tests' SQL
        # is in the folder's run/ anyway), 8 MB and about 7% of a small world's build CPU; info keeps what ran, how
        # long it took, and every warning and error. A DBT_LOG_LEVEL_FILE already set wins.
        "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", "info"),
    }
    with _environment(environment):
        profile = _parse_state_for_this_profile(context, targets, dbt_vars)
        # Unit tests check the SQL, not the data: dbt's advice is to run them in development and CI
        # (tests/test_dbt_unit_tests.py does), not on every production build.
        build = [
            "build",
            "--exclude-resource-type",
            "unit_test",
            *(["--vars", dbt_vars] if dbt_vars else []),
            *(["--full-refresh"] if config.full_refresh else []),
        ]
        invocation = dbt.cli(build, context=context)
    # dbt holds the DuckDB file until its process exits, so row counts and previews can only be read after it:
    # the events wait for them. A failed build still yields what it built, then fails the step.
    events, failure = [], None
    try:
        events.extend(invocation.stream())
    except Exception as exc:  # re-raised below, once the models that were built are recorded
        failure = exc
    invocation.process.wait()
    keep_parse_state(invocation.target_path, targets, profile)
    yield from _with_table_metadata(events, invocation, warehouse)
    if failure is not None:
        raise failure


def _parse_state_for_this_profile(context: dg.AssetExecutionContext, targets, dbt_vars: str | None) -> list | None:
    """The connection settings dbt will run with; the parse state it starts from made theirs when only the
    warehouse's path differs (a new warehouse starts from setup's state, a moved one keeps its own)."""
    try:
        info = profile_connection_info(dbt_project.project_dir, dbt_vars)
    except Exception as exc:  # a profile dbt cannot read: dbt itself says why, in its own words, next
        context.log.debug(f"parse state left to dbt: {exc}")
        return None
    outcome = seed_parse_state(targets, info, dbt_project.manifest_path.parent)
    if outcome == "seeded":
        context.log.info("dbt starts from the parse state scripts/setup.sh made (only the warehouse's path differs)")
    elif outcome == "moved":
        context.log.info("dbt starts from this warehouse's parse state, made before it moved")
    return info


def _relations(manifest: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """dbt unique_id -> (schema, table) of every model."""
    return {
        unique_id: (node["schema"], node.get("alias") or node["name"])
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }


def _unique_id(event) -> str | None:
    value = event.metadata.get("unique_id")
    return getattr(value, "value", value)


def _with_table_metadata(events: list, invocation, warehouse: Warehouse) -> Iterator:
    """Each model's event with its row count (and, for a mart, a preview of its first rows); each failing test's
    with the first rows it found; then observations of the raw bookkeeping tables dbt reads."""
    relations = _relations(invocation.manifest)
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except Exception:  # no run_results when dbt failed to start: nothing to add to failing tests
        results = []
    failing_sql = {r["unique_id"]: r.get("compiled_code") for r in results if r.get("status") in ("fail", "warn")}
    with warehouse.get_connection() as con:
        for event in events:
            unique_id = _unique_id(event)
            extra = {}
            if unique_id in relations and isinstance(event, dg.Output | dg.AssetMaterialization):
                schema, table = relations[unique_id]
                rows = row_count(con, schema, table)
                if rows is not None:
                    extra["dagster/row_count"] = rows
                    if schema == "marts":
                        extra["preview"] = dg.MetadataValue.md(preview_markdown(con, schema, table))
            elif isinstance(event, dg.AssetCheckResult) and failing_sql.get(unique_id):
                examples = failing_rows_markdown(con, failing_sql[unique_id])
                if examples:
                    extra["failing_examples"] = dg.MetadataValue.md(examples)
            yield event.with_metadata({**event.metadata, **extra}) if extra else event
        for table in BOOKKEEPING_TABLES:
            rows = row_count(con, "raw", table)
            if rows is not None:
                yield dg.AssetObservation(asset_key=dg.AssetKey(["raw", table]), metadata={"dagster/row_count": rows})
