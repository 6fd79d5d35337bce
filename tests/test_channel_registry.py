"""The channel registry (var `channels` in dbt_project.yml) is the one description of the channels: dbt and Python
derive the same views from it, it agrees with the raw-table registry, and one entry is all a new channel needs for
the identity, touchpoint, sync and profile models to take it in."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestration.channels import RegistryError, load
from orchestration.ingestion.sources import RAW_TABLES, SOURCES
from orchestration.settings import DBT_PROJECT_DIR

VIEWS_ANALYSIS = "channel_registry_views"
# The models that loop over the registry; a new channel must show up in each.
LOOPING_MODELS = [
    "int_identity_occurrences",
    "int_identity_identifiers",
    "int_touchpoints_unioned",
    "int_warehouse_event_metrics",
    "dim_customer",
    "fct_touchpoint",
]

TIKTOK_STAGING = """\
with source as (
    select * from {{ source('raw', 'tiktok') }}
    where not _is_duplicate
),

typed as (
    select
        _event_id as event_id,
        {{ normalize_handle(json_str('record', 'handle')) }} as handle,
        {{ json_str('record', 'action') }} as action,
        {{ json_str('record', 'campaign_id') }} as campaign_id,
        {{ normalize_email(json_str('record', 'lead_email')) }} as lead_email,
        {{ iso8601_to_utc(json_str('record', 'create_time')) }} as event_at,
        {{ lineage_columns() }}
    from source
)

select *, cast(event_at as date) as event_date
from typed
"""
TIKTOK_ENTRY = {
    "model": "stg_tiktok__events",
    "raw_table": "tiktok",
    "channel": "tiktok",
    "consent": True,
    "identity": {"identifiers": {"social_handle": "handle", "email": "lead_email"}, "contact_trust": 13},
    "touchpoints": {
        "touch_type": "action",
        "direction": "'inbound'",
        "campaign_id": "campaign_id",
        "engagement": ["like", "share"],
        "utm_mediums": ["tiktok"],
        "exposure": ["like"],
    },
    "sync": {"counts": {"metric": "action"}},
}


def _copy_project(tmp_path: Path) -> Path:
    """The dbt project, copied without its build output, with an analysis rendering dbt's views of the registry."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs"))
    (project / "analyses").mkdir(exist_ok=True)
    (project / "analyses" / f"{VIEWS_ANALYSIS}.sql").write_text("{{ tojson(channel_registry_views()) }}\n")
    return project


def _compile(project: Path, tmp_path: Path, models: list[str]) -> dict[str, str]:
    """`dbt compile` of `models` and the views analysis against an empty warehouse; compiled SQL by node name."""
    target = tmp_path / "target"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "compile",
            "--select",
            *models,
            VIEWS_ANALYSIS,
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env={**os.environ, "OMNI_WAREHOUSE": str(tmp_path / "warehouse.duckdb")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
    return {n["name"]: n["compiled_code"] for n in nodes if n.get("compiled_code") is not None}


def test_dbt_and_python_derive_the_same_views(tmp_path):
    compiled = _compile(_copy_project(tmp_path), tmp_path, ["int_touchpoints_unioned"])
    dbt_views = json.loads(compiled[VIEWS_ANALYSIS])
    python_views = load().views()
    for view in python_views:
        assert dbt_views[view] == python_views[view], view
    assert set(dbt_views) == set(python_views)


def test_the_registry_agrees_with_the_raw_tables():
    registry = load()
    tables = {t.table: t for t in RAW_TABLES}
    streams = {s.name: s for s in registry.streams}
    # Every raw table is staged by a stream, and every stream stages a raw table that ingestion loads.
    assert {s.raw_table for s in registry.streams} == set(tables)
    # Every landing source's daily totals are checked, under the source's own `_control` name.
    assert sorted(registry.sync_sources()) == sorted(SOURCES)
    for name in registry.sync_sources():
        assert tables[streams[name].raw_table].source == name
    # Every stream's staging model exists, in the folder of its landing source.
    for s in registry.streams:
        source = tables[s.raw_table].source
        assert (DBT_PROJECT_DIR / "models" / "staging" / source / f"{s.model}.sql").is_file(), s.name
    # The identifier types the records hold are the ones identity resolution ranks.
    assert set(registry.identity_identifier_types()) == set(registry.identifier_types)


def test_a_built_world_holds_what_the_registry_says(world):
    registry = load()
    assert {r[0] for r in world.query("select distinct channel from marts.fct_touchpoint")} == set(
        registry.touchpoint_channels()
    )
    assert {r[0] for r in world.query("select distinct source from intermediate.int_identity_occurrences")} == set(
        registry.identity_sources()
    )
    assert {
        r[0]
        for r in world.query(
            "select distinct source from marts.agg_sync_accuracy where metric_kind in ('count', 'sum')"
        )
    } == set(registry.sync_sources())
    consent_columns = [
        r[0]
        for r in world.query(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'dim_customer' and column_name like '%\\_consent' escape '\\' order by ordinal_position"
        )
    ]
    assert consent_columns == [f"{c}_consent" for c in registry.consent_channels()]


def test_one_registry_entry_adds_a_channel_to_the_models(tmp_path):
    project = _copy_project(tmp_path)
    # Its raw table and its staging model, as a new channel brings them ...
    sources_yml = project / "models" / "staging" / "_sources.yml"
    sources = yaml.safe_load(sources_yml.read_text())
    sources["sources"][0]["tables"].append({"name": "tiktok", "description": "TikTok engagement export"})
    sources_yml.write_text(yaml.safe_dump(sources, sort_keys=False))
    (project / "models" / "staging" / "tiktok").mkdir()
    (project / "models" / "staging" / "tiktok" / "stg_tiktok__events.sql").write_text(TIKTOK_STAGING)
    # ... and one registry entry; no model is edited.
    project_yml = project / "dbt_project.yml"
    config = yaml.safe_load(project_yml.read_text())
    config["vars"]["channels"]["tiktok"] = TIKTOK_ENTRY
    project_yml.write_text(yaml.safe_dump(config, sort_keys=False))

    compiled = _compile(project, tmp_path, LOOPING_MODELS)
    occurrences = compiled["int_identity_occurrences"]
    assert "'tiktok:' || event_id as record_id" in occurrences
    assert "'social_handle' as identifier_type" in occurrences.split("'tiktok' as source", 1)[1]
    assert "<> 0 then 'tiktok' end" in compiled["int_identity_identifiers"]  # an identifier's sources
    touchpoints = compiled["int_touchpoints_unioned"]
    assert "'tiktok' as channel" in touchpoints and '"stg_tiktok__events"' in touchpoints
    assert "when lower(utm_medium) = 'tiktok' then 'tiktok'" in touchpoints  # a web session it brought
    metrics = compiled["int_warehouse_event_metrics"]
    assert "select 'tiktok' as source" in metrics and '"stg_tiktok__events"' in metrics
    dim_customer = compiled["dim_customer"]
    assert "when 'tiktok' then 13" in dim_customer  # contact trust
    assert "when 'tiktok' then 'tiktok'" in dim_customer  # channels engaged
    assert "cc.tiktok_consent" in dim_customer
    assert "'tiktok:like'" in compiled["fct_touchpoint"] and "'tiktok:share'" in compiled["fct_touchpoint"]
    # Both sides see it, alike.
    dbt_views = json.loads(compiled[VIEWS_ANALYSIS])
    python_views = load(project).views()
    assert dbt_views == python_views
    assert python_views["touchpoint_channels"][-1] == "tiktok"
    assert python_views["exposure_touches"]["tiktok"] == ["like"]
    assert "tiktok" in python_views["sync_sources"] and "tiktok" in python_views["identity_sources"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda c: c["email"]["touchpoints"].update(engagment=["click"]),
            "entry 'email': unknown field touchpoints.engagment",
        ),
        (lambda c: c["sms"]["touchpoints"].pop("direction"), "entry 'sms': no touchpoints.direction"),
        (
            lambda c: c["pos"]["identity"]["identifiers"].update(loyalty_card="loyalty_id"),
            "entry 'pos': identity: unknown identifier type loyalty_card",
        ),
        (
            lambda c: c["social"]["touchpoints"]["utm_mediums"].append("cpc"),
            "utm_medium 'cpc' names both ads and social",
        ),
        (
            lambda c: c["orders"]["sync"]["sums"]["total_price"].pop("value"),
            "entry 'orders': no sync.sums.total_price.value",
        ),
    ],
)
def test_a_malformed_registry_is_refused_naming_the_entry(tmp_path, edit, message):
    config = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    edit(config["vars"]["channels"])
    (tmp_path / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(RegistryError, match="dbt_project.yml: var channels") as raised:
        load(tmp_path)
    assert message in str(raised.value)
