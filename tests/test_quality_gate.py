"""The quality gate: a partly synced day never reaches the published copy, however the run starts; cross-system
disagreement (people with second and stale addresses, mail reaching another customer) is reported and warns, and
blocks only when the user says so."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from conftest import dbt_process, point_settings_at, progress_log, restore_settings

from orchestration import settings
from orchestration.settings import PROJECT_ROOT

# No contact-policy misfires: their sends after an opt-out warn in cross-system agreement (test_contact_policy
# checks that), and this world is the clean one.
# Eight days: the fault day must lie outside the sync check's settling window of the last delivery day.
WORLD = dict(customers=400, days=8, seed=5, misfires=False)
FAULT_DAY = "2026-03-03"
SYNC_CHECK = "marts/agg_sync_accuracy:sync_accuracy"
AGREEMENT_CHECK = "marts/agg_cross_system_agreement:cross_system_agreement"
AGREEMENT_KEY = dg.AssetCheckKey(dg.AssetKey(["marts", "agg_cross_system_agreement"]), "cross_system_agreement")


def _publication_digest(publish_dir: Path) -> str:
    """Bytes of everything published, the `current` link's target included (not the report of a failed attempt,
    which is written beside the publication, in `failed/`)."""
    digest = hashlib.sha256()
    for path in sorted(publish_dir.rglob("*")):
        if path.relative_to(publish_dir).parts[0] == "failed":
            continue
        digest.update(path.relative_to(publish_dir).as_posix().encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _latest_evaluation(dagster_home: Path, key: dg.AssetCheckKey):
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    return instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key].event.asset_check_evaluation


def _own_dagster_home(root: Path, previous: dict) -> Path:
    """A persistent instance under `root` (the gate reads it), recorded in `previous` for restoring."""
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text((PROJECT_ROOT / "orchestration" / "dagster.yaml").read_text())
    previous["DAGSTER_HOME"] = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return dagster_home


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """A clean world run and published, then the same world re-delivered with 2% of a day's emails lost."""
    import simulator
    from orchestration.runner import run_pipeline

    root = tmp_path_factory.mktemp("gate")
    previous = point_settings_at(root)
    dagster_home = _own_dagster_home(root, previous)
    try:
        simulator.simulate(root / "landing", **WORLD)
        clean_log = []
        clean = run_pipeline(log=progress_log("gate: clean world", clean_log.append))
        clean_manifest = json.loads((root / "published" / "manifest.json").read_text())
        clean_digest = _publication_digest(root / "published")
        with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
            clean_sync = con.execute(
                "select source, event_date::varchar, metric, status, within_settling_window "
                "from marts.agg_sync_accuracy"
            ).fetchall()
            clean_agreement = con.execute(
                "select channel, event_date::varchar as event_date, metric, numerator, denominator, rate, status "
                "from marts.agg_cross_system_agreement"
            ).df()
        esp_truth = pd.read_parquet(root / "landing" / "_truth" / "esp_addresses.parquet").astype({"sent_date": str})
        clean_agreement_check = _latest_evaluation(dagster_home, AGREEMENT_KEY)
        # The clean world as published, instance included, for the misaddressed re-delivery below.
        clean_copy = tmp_path_factory.mktemp("gate_clean")
        shutil.copytree(root, clean_copy, symlinks=True, dirs_exist_ok=True)
        simulator.simulate(root / "landing", **WORLD, faults=[f"drop:email:{FAULT_DAY}:0.02"])
        faulty = run_pipeline(log=progress_log("gate: a day's emails lost"))
        yield dict(
            root=root,
            clean=clean,
            faulty=faulty,
            clean_manifest=clean_manifest,
            clean_digest=clean_digest,
            dagster_home=dagster_home,
            clean_log=clean_log,
            clean_sync=clean_sync,
            clean_agreement=clean_agreement,
            esp_truth=esp_truth,
            clean_agreement_check=clean_agreement_check,
            clean_copy=clean_copy,
        )
    finally:
        restore_settings(previous)


def test_a_clean_world_publishes_and_the_manifest_lists_every_passing_check(gated):
    assert gated["clean"]["published"] and gated["clean"]["success"]
    manifest = gated["clean_manifest"]
    from orchestration.definitions import build_definitions
    from orchestration.defs.gate import upstream_check_keys
    from orchestration.defs.publishing import PUBLISHED_KEY

    graph = build_definitions().resolve_asset_graph()
    expected = {
        f"{k.asset_key.to_user_string()}:{k.name}"
        for k in upstream_check_keys(graph, graph.get(PUBLISHED_KEY).parent_keys)
    }
    listed = set(manifest["checks"]["passed"]) | set(manifest["checks"]["warned"])
    assert expected and listed == expected
    assert "marts/agg_sync_accuracy:sync_accuracy" in manifest["checks"]["passed"]
    assert manifest["run_id"] == gated["clean"]["transform"]
    assert manifest["delivery_days"] >= WORLD["days"]


def test_a_world_of_second_and_stale_addresses_publishes_every_settled_day_with_no_warning(gated):
    clean = gated["clean"]
    assert clean["published"] and clean["failed_checks"] == [] and clean["warned_checks"] == []
    assert AGREEMENT_CHECK in gated["clean_manifest"]["checks"]["passed"]
    assert gated["clean_manifest"]["checks"]["warnings"] == []
    settled = [row for row in gated["clean_sync"] if not row[4]]
    assert settled and {status for _, _, _, status, _ in settled} == {"ok"}
    assert not any("warning" in line for line in gated["clean_log"])
    # The world really has the addresses the CRM does not hold for the person mailed.
    truth = gated["esp_truth"]
    assert {"second", "stale"} <= set(truth["kind"]) and "other_customer" not in set(truth["kind"])


def test_agreement_rates_are_reported_per_channel_and_day_and_match_the_simulators_truth(gated):
    agreement = gated["clean_agreement"]
    truth = gated["esp_truth"]
    email = agreement[agreement["channel"] == "email"]
    send_days = sorted(truth["sent_date"].unique())
    # Every metric on every day the ESP sent, with its rate; opt-out propagation for each channel.
    assert sorted(email["event_date"].unique()) == send_days
    assert (email.groupby("event_date")["metric"].nunique() == 5).all()
    assert set(agreement.loc[agreement["metric"] == "crm_opt_out_not_respected", "channel"]) == {"email", "sms", "push"}
    address = email[email["metric"].str.startswith("esp_")]
    assert address["rate"].notna().all() and (address["denominator"] > 0).all()
    assert set(agreement["status"]) == {"ok"}
    # What the mart counts is what the simulator did, day by day: sends to a second address are unknown to the
    # CRM, sends to a replaced one after the CRM's change are stale, and no mail reached another customer.
    sent = truth.pivot_table(index="sent_date", columns="kind", values="messages", aggfunc="sum", fill_value=0)
    counted = email.pivot_table(index="event_date", columns="metric", values="numerator", aggfunc="sum")
    for metric, kind in (("esp_address_unknown_to_crm", "second"), ("esp_address_stale", "stale")):
        assert counted[metric].tolist() == sent[kind].reindex(counted.index, fill_value=0).tolist(), metric
    assert counted["esp_address_unknown_to_crm"].sum() > 0 and counted["esp_address_stale"].sum() > 0
    assert counted["esp_address_held_by_other_customer"].sum() == 0
    assert counted["esp_customer_id_unknown_to_crm"].sum() == 0
    assert agreement.loc[agreement["metric"] == "crm_opt_out_not_respected", "numerator"].sum() == 0
    rates = gated["clean_agreement_check"].metadata["settled_rates"].value
    assert gated["clean_agreement_check"].passed and 0 < rates["email esp_address_unknown_to_crm"] < 0.1


def test_dropped_events_fail_the_sync_check_naming_source_and_day_and_nothing_is_published(gated):
    faulty = gated["faulty"]
    assert not faulty["published"] and not faulty["success"]
    assert faulty["failed_checks"] == [SYNC_CHECK]  # the addresses stay a report, the lost events block
    instance = dg.DagsterInstance.from_config(str(gated["dagster_home"]))
    check_key = dg.AssetCheckKey(dg.AssetKey(["marts", "agg_sync_accuracy"]), "sync_accuracy")
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key]
    evaluation = record.event.asset_check_evaluation
    assert not evaluation.passed
    assert f"email {FAULT_DAY}" in evaluation.metadata["failing_source_days"].value
    assert all(day.startswith("email ") for day in evaluation.metadata["failing_source_days"].value)
    # The UI's table of source days: a row per source, a column per day, the email row holding the error.
    email_row = next(
        line for line in evaluation.metadata["sync_accuracy"].value.splitlines() if line.startswith("| email")
    )
    assert "ERROR" in email_row
    assert FAULT_DAY in evaluation.metadata["failing_examples"].value
    assert _publication_digest(gated["root"] / "published") == gated["clean_digest"]
    # Only the delivery days whose files changed were loaded again: the fault's day among them, not every day.
    reloaded = sorted(key for key in faulty if key[:4].isdigit())
    delivered = sorted(key for key in gated["clean"] if key[:4].isdigit())
    assert FAULT_DAY in reloaded and len(reloaded) < len(delivered), (reloaded, delivered)
    # What failed has its own report beside the last good release's, which it links to.
    failed = (gated["root"] / "published" / "failed" / "report.html").read_text()
    assert "NOT published" in failed and SYNC_CHECK in failed and FAULT_DAY in failed
    assert 'href="../current/report.html"' in failed
    assert (gated["root"] / "published" / "current" / "report.html").exists()


def test_a_failed_run_started_from_the_ui_gets_its_report_from_the_sensor(gated):
    """`omnichannel run` writes the report itself; a run launched from the UI or a schedule has the run-failure
    sensor (the daemon's) write it."""
    from orchestration.definitions import build_definitions
    from orchestration.defs.resources import Publication, Warehouse

    report = gated["root"] / "published" / "failed" / "report.html"
    report.unlink()
    instance = dg.DagsterInstance.from_config(str(gated["dagster_home"]))
    run = instance.get_run_by_id(gated["faulty"]["transform"])
    failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
    sensor = build_definitions().get_sensor_def("failed_publication_report")
    with dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        resources={
            "warehouse": Warehouse(path=str(gated["root"] / "warehouse.duckdb")),
            "publication": Publication(path=str(gated["root"] / "published"), home=str(gated["root"])),
        },
    ) as context:
        sensor(context.for_run_failure())
    assert SYNC_CHECK in report.read_text() and FAULT_DAY in report.read_text()


def test_a_scheduled_run_in_another_process_cannot_publish_past_the_failed_check(gated):
    from orchestration.definitions import build_definitions

    schedule = build_definitions().get_schedule_def("daily_publish")
    instance = dg.DagsterInstance.from_config(str(gated["dagster_home"]))
    with dg.build_schedule_context(instance=instance) as context:
        requests = schedule.evaluate_tick(context).run_requests
    job_name = requests[0].job_name or schedule.job_name
    assert len(requests) == 1 and job_name == "publish"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "job",
            "execute",
            "-m",
            "orchestration.definitions",
            "-j",
            job_name,
            "--tags",
            json.dumps(dict(requests[0].tags)),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )
    assert result.returncode != 0, result.stdout[-2000:]
    assert "not published" in result.stdout + result.stderr
    assert "sync_accuracy" in result.stdout + result.stderr
    assert _publication_digest(gated["root"] / "published") == gated["clean_digest"]


def test_no_raw_email_or_phone_appears_in_the_published_copy(gated):
    root = gated["root"]
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        identifiers = {
            r[0]
            for r in con.execute(
                "select email_raw from staging.stg_orders__orders union select email from staging.stg_orders__orders "
                "union select phone_raw from staging.stg_orders__orders union select phone from staging.stg_orders__orders "
                "union select email from staging.stg_crm__customers union select phone from staging.stg_crm__customers"
            ).fetchall()
            if r[0]
        }
    assert identifiers
    published = root / "published" / "current"
    blobs = [(published / "omnichannel.duckdb").read_bytes()] + [
        p.read_bytes() for p in (published / "parquet").glob("*")
    ]
    for value in identifiers:
        needle = value.strip().encode()
        assert not any(needle in blob for blob in blobs), value


@pytest.fixture(scope="module")
def misaddressed(gated):
    """The clean world, published, then re-delivered with 5% of a day's mail sent to other customers' addresses:
    published with a warning; then rebuilt with the one dbt var that makes cross-system agreement block."""
    import simulator
    from orchestration.definitions import build_definitions
    from orchestration.defs.publishing import PUBLISHED_KEY
    from orchestration.defs.quality import SYNC_ASSET
    from orchestration.runner import run_pipeline

    root = gated["clean_copy"]
    previous = point_settings_at(root)
    previous["DAGSTER_HOME"] = os.environ.get("DAGSTER_HOME")
    dagster_home = root / "dagster_home"  # the clean run's instance, copied with its world
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    previous["OMNI_DBT_VARS"] = os.environ.pop("OMNI_DBT_VARS", None)
    try:
        simulator.simulate(root / "landing", **WORLD, faults=[f"misaddress:email:{FAULT_DAY}:0.05"])
        log = []
        warned = run_pipeline(log=progress_log("gate: a day's mail misaddressed", log.append))
        manifest = json.loads((root / "published" / "manifest.json").read_text())
        digest = _publication_digest(root / "published")
        warned_evaluation = _latest_evaluation(dagster_home, AGREEMENT_KEY)
        # As a user would in the UI: set the var, then materialize the agreement mart (its dbt model and tests,
        # and its check) and the publication; the sync check is re-run beside it, to show it still passes.
        os.environ["OMNI_DBT_VARS"] = "{cross_system_agreement_severity: error}"
        instance = dg.DagsterInstance.from_config(str(dagster_home))
        rebuild_agreement = dg.define_asset_job(
            "rebuild_agreement",
            selection=dg.AssetSelection.assets(AGREEMENT_KEY.asset_key, PUBLISHED_KEY)
            | dg.AssetSelection.checks(dg.AssetCheckKey(SYNC_ASSET, "sync_accuracy")),
        )
        defs = dg.Definitions.merge(build_definitions(), dg.Definitions(jobs=[rebuild_agreement]))
        blocked = defs.resolve_job_def("rebuild_agreement").execute_in_process(instance=instance, raise_on_error=False)
        yield dict(
            root=root,
            warned=warned,
            log=log,
            manifest=manifest,
            digest=digest,
            blocked=blocked,
            warned_evaluation=warned_evaluation,
            blocked_evaluation=_latest_evaluation(dagster_home, AGREEMENT_KEY),
            faults=json.loads((root / "landing" / "_truth" / "faults.json").read_text()),
        )
    finally:
        restore_settings(previous)


def test_mail_reaching_another_customer_warns_and_publishing_says_so_in_the_manifest_and_on_the_command_line(
    misaddressed,
):
    warned = misaddressed["warned"]
    assert warned["published"] and warned["success"] and warned["failed_checks"] == []
    assert warned["warned_checks"] == [AGREEMENT_CHECK]
    misaddressed_messages = sum(f["kind"] == "misaddress" for f in misaddressed["faults"])
    assert misaddressed_messages > 0
    # The manifest names the check and what was off: the channel, the day and the metric.
    checks = misaddressed["manifest"]["checks"]
    assert AGREEMENT_CHECK in checks["warned"] and SYNC_CHECK in checks["passed"]
    (warning,) = checks["warnings"]
    assert warning["check"] == AGREEMENT_CHECK
    assert f"email {FAULT_DAY} esp_address_held_by_other_customer {misaddressed_messages}/" in warning["what"]
    evaluation = misaddressed["warned_evaluation"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert f"email {FAULT_DAY}" in evaluation.metadata["flagged_channel_days"].value
    printed = [line for line in misaddressed["log"] if line.startswith("published with")]
    assert printed == [f"published with 1 warning(s): {AGREEMENT_CHECK}: {warning['what']}"]


def test_one_dbt_var_makes_cross_system_agreement_block_publication(misaddressed):
    blocked = misaddressed["blocked"]
    assert not blocked.success
    evaluation = misaddressed["blocked_evaluation"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert f"email {FAULT_DAY} esp_address_held_by_other_customer" in evaluation.description
    assert not any(
        e.asset_key == dg.AssetKey(["published", "marts"]) for e in blocked.get_asset_materialization_events()
    )
    # Sync accuracy still passes: the counts are right, the addresses are what blocks.
    sync = [e for e in blocked.get_asset_check_evaluations() if e.check_name == "sync_accuracy"]
    assert len(sync) == 1 and sync[0].passed
    assert _publication_digest(misaddressed["root"] / "published") == misaddressed["digest"]


def test_dbt_vars_from_the_environment_must_be_a_mapping(monkeypatch):
    from orchestration import settings

    monkeypatch.setenv("OMNI_DBT_VARS", "{cross_system_agreement_severity: error}")
    assert json.loads(settings.dbt_vars()) == {"cross_system_agreement_severity": "error"}
    monkeypatch.setenv("OMNI_DBT_VARS", " ")
    assert settings.dbt_vars() is None
    for bad in ("[error]", "{oops: [", "error"):
        monkeypatch.setenv("OMNI_DBT_VARS", bad)
        with pytest.raises(ValueError, match="OMNI_DBT_VARS"):
            settings.dbt_vars()


@pytest.mark.parametrize(
    "dbt_vars,message",
    [
        ("{cross_system_agreement_severity: block}", "cross_system_agreement_severity must be 'warn' or 'error'"),
        ("{agreement_max_esp_address_stale: 5}", "agreement_max_esp_address_stale must be a share between 0 and 1"),
    ],
)
def test_an_unknown_severity_or_a_threshold_out_of_range_is_a_clear_dbt_error(tmp_path, dbt_vars, message):
    result = dbt_process("parse", "--vars", dbt_vars, warehouse=tmp_path / "w.duckdb", tmp_path=tmp_path)
    assert result.returncode != 0 and message in result.stdout, result.stdout[-2000:]


def test_every_asset_records_its_row_count_and_each_mart_a_preview_without_customer_ids(gated):
    """What the Dagster UI shows: the latest materialization of each model and raw table carries its row count, each
    mart its first rows (customer ids withheld: the event log cannot be scrubbed by forget)."""
    instance = dg.DagsterInstance.from_config(str(gated["dagster_home"]))

    def latest(*path):
        return instance.fetch_materializations(dg.AssetKey(list(path)), limit=1).records[0].asset_materialization

    with duckdb.connect(str(gated["root"] / "warehouse.duckdb"), read_only=True) as con:
        count = lambda table: con.execute(f"select count(*) from {table}").fetchall()[0][0]  # noqa: E731
        for schema, table in [
            ("marts", "fct_conversion"),
            ("marts", "agg_sync_accuracy"),
            ("intermediate", "int_identity_components"),
            ("staging", "stg_email__events"),
        ]:
            assert latest(schema, table).metadata["dagster/row_count"].value == count(f"{schema}.{table}"), table
        last_day = con.execute("select max(_delivery_date)::varchar from raw.email").fetchall()[0][0]
        email = instance.fetch_materializations(dg.AssetKey(["raw", "email"]), limit=100).records
        on_last_day = next(r.asset_materialization for r in email if r.partition_key == last_day)
        rows_of_day = con.execute("select count(*) from raw.email where _delivery_date = ?", [last_day]).fetchall()
        assert on_last_day.metadata["dagster/row_count"].value == rows_of_day[0][0]
        assert latest("raw", "phone_numbers").metadata["dagster/row_count"].value == count("raw.phone_numbers")
        ingest_log = instance.fetch_observations(dg.AssetKey(["raw", "ingest_log"]), limit=1).records[0]
        assert ingest_log.asset_observation.metadata["dagster/row_count"].value == count("raw.ingest_log")
    preview = latest("marts", "fct_conversion").metadata["preview"].value
    header, _, *rows = preview.splitlines()
    assert "customer_id" in header and len(rows) == 5
    column = [c.strip() for c in header.strip("|").split("|")].index("customer_id")
    assert {r.strip("|").split("|")[column].strip() for r in rows} == {"(withheld)"}
    assert "@" not in preview
    published = latest("published", "marts").metadata
    assert published["dagster/row_count"].value == sum(gated["clean_manifest"]["tables"].values())
    report = latest("published", "report").metadata
    # Links the UI can follow (not file://, which a browser will not open from an http page): the release's own
    # report, which stays that release's when a later one becomes current, and the current one; and the path.
    site, release = settings.get("OMNI_DOCS_URL"), report["release"].value
    assert report["report"].value == f"{site}/published/releases/{release}/report.html"
    assert report["current_report"].value == f"{site}/published/current/report.html"
    assert Path(report["report_path"].value).is_file() and Path(report["report_path"].value).parent.name == release
    assert published["report"].value == report["report"].value
    assert report["charts"].value > 0
