"""The quality gate: a partly synced day never reaches the published copy, however the run starts."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.settings import PROJECT_ROOT
from tests.conftest import point_settings_at, restore_settings

WORLD = dict(customers=400, days=5, seed=5)
FAULT_DAY = "2026-03-03"


def _publication_digest(publish_dir: Path) -> str:
    """Bytes of everything published, the `current` link's target included."""
    digest = hashlib.sha256()
    for path in sorted(publish_dir.rglob("*")):
        digest.update(path.relative_to(publish_dir).as_posix().encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """A clean world run and published, then the same world re-delivered with 2% of a day's emails lost."""
    import simulator
    from orchestration.runner import run_pipeline

    root = tmp_path_factory.mktemp("gate")
    previous = point_settings_at(root)
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text((PROJECT_ROOT / "orchestration" / "dagster.yaml").read_text())
    previous["DAGSTER_HOME"] = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        simulator.simulate(root / "landing", **WORLD)
        clean = run_pipeline(log=lambda m: None)
        clean_manifest = json.loads((root / "published" / "manifest.json").read_text())
        clean_digest = _publication_digest(root / "published")
        simulator.simulate(root / "landing", **WORLD, faults=[f"drop:email:{FAULT_DAY}:0.02"])
        faulty = run_pipeline(log=lambda m: None)
        yield dict(root=root, clean=clean, faulty=faulty, clean_manifest=clean_manifest, clean_digest=clean_digest,
                   dagster_home=dagster_home)
    finally:
        restore_settings(previous)


def test_a_clean_world_publishes_and_the_manifest_lists_every_passing_check(gated):
    assert gated["clean"]["published"] and gated["clean"]["success"]
    manifest = gated["clean_manifest"]
    from orchestration.definitions import build_definitions
    from orchestration.defs.gate import upstream_check_keys
    from orchestration.defs.publishing import PUBLISHED_KEY

    graph = build_definitions().resolve_asset_graph()
    expected = {f"{k.asset_key.to_user_string()}:{k.name}" for k in upstream_check_keys(graph, graph.get(PUBLISHED_KEY).parent_keys)}
    listed = set(manifest["checks"]["passed"]) | set(manifest["checks"]["warned"])
    assert expected and listed == expected
    assert "marts/agg_sync_accuracy:sync_accuracy" in manifest["checks"]["passed"]
    assert manifest["run_id"] == gated["clean"]["transform"]
    assert manifest["delivery_days"] >= WORLD["days"]


def test_dropped_events_fail_the_sync_check_naming_source_and_day_and_nothing_is_published(gated):
    faulty = gated["faulty"]
    assert not faulty["published"] and not faulty["success"]
    assert "marts/agg_sync_accuracy:sync_accuracy" in faulty["failed_checks"]
    instance = dg.DagsterInstance.from_config(str(gated["dagster_home"]))
    check_key = dg.AssetCheckKey(dg.AssetKey(["marts", "agg_sync_accuracy"]), "sync_accuracy")
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key]
    evaluation = record.event.asset_check_evaluation
    assert not evaluation.passed
    assert f"email {FAULT_DAY}" in evaluation.metadata["failing_source_days"].value
    assert all(day.startswith("email ") for day in evaluation.metadata["failing_source_days"].value)
    assert _publication_digest(gated["root"] / "published") == gated["clean_digest"]


def test_a_scheduled_run_in_another_process_cannot_publish_past_the_failed_check(gated):
    from orchestration.definitions import build_definitions

    schedule = build_definitions().get_schedule_def("daily_publish")
    instance = dg.DagsterInstance.from_config(str(gated["dagster_home"]))
    with dg.build_schedule_context(instance=instance) as context:
        requests = schedule.evaluate_tick(context).run_requests
    job_name = requests[0].job_name or schedule.job_name
    assert len(requests) == 1 and job_name == "publish"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "orchestration.definitions",
         "-j", job_name, "--tags", json.dumps(dict(requests[0].tags))],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, env=dict(os.environ),
    )
    assert result.returncode != 0, result.stdout[-2000:]
    assert "not published" in result.stdout + result.stderr
    assert "sync_accuracy" in result.stdout + result.stderr
    assert _publication_digest(gated["root"] / "published") == gated["clean_digest"]


def test_no_raw_email_or_phone_appears_in_the_published_copy(gated):
    root = gated["root"]
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        identifiers = {r[0] for r in con.execute(
            "select email_raw from staging.stg_orders__orders union select email from staging.stg_orders__orders "
            "union select phone_raw from staging.stg_orders__orders union select phone from staging.stg_orders__orders "
            "union select email from staging.stg_crm__customers union select phone from staging.stg_crm__customers"
        ).fetchall() if r[0]}
    assert identifiers
    published = root / "published" / "current"
    blobs = [(published / "omnichannel.duckdb").read_bytes()] + [p.read_bytes() for p in (published / "parquet").glob("*")]
    for value in identifiers:
        needle = value.strip().encode()
        assert not any(needle in blob for blob in blobs), value
