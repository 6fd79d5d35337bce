"""What a person sees, in headless chromium (Debian's, driven by Playwright): the release report draws every chart
with no console error, and `dagster dev` on loopback renders the asset graph and runs a materialization launched
by clicking its button, then re-executes a run of `omnichannel run` with the run page's "Re-execute" button. Both use
the session's default world (the Dagster test a copy of it)."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import duckdb
import pytest
from conftest import PageErrors, copy_world, point_settings_at, restore_settings
from report_pages import read_report

from orchestration.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

# Elements plotly draws per trace: bar and scatter traces, heatmap images, Sankey nodes.
_DRAWN = "g.trace, g.hm, g.sankey-node"


def test_the_report_draws_every_chart_with_no_console_error(world, browser):
    report = world.root / "published" / "current" / "report.html"
    figures, _ = read_report(report)
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors = PageErrors.watch(page)
    page.goto(report.resolve().as_uri())
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart-div]')].every(d => d.classList.contains('js-plotly-plot'))"
    )
    drawn = page.evaluate(
        f"""() => Object.fromEntries([...document.querySelectorAll('[data-chart-div]')].map(d => [d.id, {{
                traces: (d.data || []).length,
                svg: d.querySelectorAll('svg.main-svg').length,
                elements: d.querySelectorAll('{_DRAWN}').length,
                series: d.querySelectorAll('g.trace').length,
            }}]))"""
    )
    page.close()
    assert errors.messages == []
    assert set(drawn) == set(figures) and len(drawn) >= 8
    for chart, seen in drawn.items():
        assert seen["svg"] > 0 and seen["elements"] > 0, chart
        assert seen["traces"] == len(figures[chart]["data"]), chart
        kinds = {trace.get("type") for trace in figures[chart]["data"]}
        if kinds <= {"bar", "scatter", "histogram"}:
            assert seen["series"] == seen["traces"], chart  # one drawn group per trace


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(base: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{base}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _wait(condition, what: str, limit_s: float = 300):
    """Poll until `condition()` is truthy (returning it); a bounded wait, failing with `what`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"gave up waiting for {what}")


def _finished_run(base: str, run_id: str) -> dict | None:
    run = _graphql(base, RUN, {"id": run_id})["runOrError"]
    return run if run.get("status") in {"SUCCESS", "FAILURE", "CANCELED"} else None


def _partition_tags(run: dict) -> dict:
    return {t["key"]: t["value"] for t in run["tags"] if "partition" in t["key"]}


def _stop(process: subprocess.Popen) -> None:
    """`dagster dev` shuts its webserver, daemon and code servers down on an interrupt; past a minute, kill them."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the group: any child still shutting down


def _skip_the_newsletter(page) -> None:
    """The first visit's "Join the Dagster community" dialog covers the page until skipped, as a person would."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=20_000)
    except PlaywrightTimeout:
        return  # not shown (this instance or version does not ask)
    skip.click()
    skip.wait_for(state="hidden")


RUNS = "{ runsOrError { ... on Runs { results { runId status jobName } } } }"
# What the job's page shows: its runs, in the code location the workspace loads.
JOB_RUNS = """query ($name: String!) { pipelineOrError(params: {pipelineName: $name, repositoryName: "__repository__",
    repositoryLocationName: "omnichannel"}) { ... on Pipeline { runs { runId } } } }"""
RUN = """query ($id: ID!) { runOrError(runId: $id) { ... on Run { runId status jobName parentRunId rootRunId
    tags { key value } } } }"""
REPORT_LINKS = """query ($key: AssetKeyInput!) { assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations(limit: 1) { metadataEntries { label ... on UrlMetadataEntry { url } } } } } }"""
MATERIALIZATION = """query ($key: AssetKeyInput!) { assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations(limit: 1) { runId metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }"""


def test_dagster_ui_renders_the_asset_graph_and_a_materialization_launched_from_it_succeeds(
    world, browser, tmp_path_factory
):
    copy = copy_world(world, tmp_path_factory, "dagster_ui")
    # The world's own instance (`omnichannel run` records into $OMNI_HOME/dagster_home), copied with it.
    dagster_home = copy.root / "dagster_home"
    if not (dagster_home / "dagster.yaml").exists():
        dagster_home.mkdir(exist_ok=True)
        shutil.copyfile(PROJECT_ROOT / "orchestration" / "dagster.yaml", dagster_home / "dagster.yaml")
    previous = point_settings_at(copy.root)
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    restore_settings(previous)
    port, docs_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (copy.root / "dagster_dev.log").open("w")
    # As the README starts it: `dagster dev` with the reports and Data Docs served beside it.
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "omnichannel"), "ui", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**env, "OMNI_DOCS_PORT": str(docs_port)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait(lambda: urllib.request.urlopen(f"{base}/server_info", timeout=5).status == 200, "dagster dev to serve")
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors = PageErrors.watch(page)
        page.goto(f"{base}/asset-groups")
        _skip_the_newsletter(page)
        # The global lineage: one node per asset group, drawn in the graph's SVG.
        groups = {"raw", "reference", "staging", "intermediate", "marts", "publish"}
        _wait(
            lambda: (
                groups
                <= set(page.evaluate("[...document.querySelectorAll('foreignObject')].map(e => e.textContent.trim())"))
            ),
            "the asset graph's group nodes",
            120,
        )
        # The report's link in the metadata is an http one (a browser opens no file:// link from the UI), to this
        # release's own report; recorded when the world was built, at the default port: followed on this server.
        entries = _graphql(base, REPORT_LINKS, {"key": {"path": ["published", "report"]}})["assetOrError"]
        links = {e["label"]: e.get("url") for e in entries["assetMaterializations"][0]["metadataEntries"]}
        release = (copy.root / "published" / "current").resolve().name
        path = urllib.parse.urlsplit(links["report"]).path
        assert links["report"].startswith("http://127.0.0.1:") and path == f"/published/releases/{release}/report.html"
        page.goto(f"http://127.0.0.1:{docs_port}{path}")
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-chart-div]')].every(d => d.classList.contains('js-plotly-plot'))"
        )
        drawn = page.evaluate(
            f"() => [...document.querySelectorAll('[data-chart-div]')].map(d => d.querySelectorAll('{_DRAWN}').length)"
        )
        assert len(drawn) >= 8 and all(drawn), drawn
        page.goto(f"{base}/assets/raw/email_addresses")
        button = page.locator("button", has_text="Materialize").first
        button.wait_for()
        before = {r["runId"] for r in _graphql(base, RUNS)["runsOrError"]["results"]}
        button.click()
        confirm = page.get_by_role("button", name="Confirm")

        def launched():
            # When an upstream asset was never materialized in this instance the UI asks first; the person confirms.
            if confirm.is_visible():
                confirm.click()
            return [r for r in _graphql(base, RUNS)["runsOrError"]["results"] if r["runId"] not in before]

        new_runs = _wait(launched, "a run launched by the button", 60)
        assert len(new_runs) == 1
        run = _wait(
            lambda: next(
                (
                    r
                    for r in _graphql(base, RUNS)["runsOrError"]["results"]
                    if r["runId"] == new_runs[0]["runId"] and r["status"] in {"SUCCESS", "FAILURE"}
                ),
                None,
            ),
            "the launched run to finish",
        )
        assert run["status"] == "SUCCESS", (copy.root / "dagster_dev.log").read_text()[-3000:]
        assert run["jobName"] == "__ASSET_JOB"
        latest = _graphql(base, MATERIALIZATION, {"key": {"path": ["raw", "email_addresses"]}})
        materialization = latest["assetOrError"]["assetMaterializations"][0]
        assert materialization["runId"] == run["runId"]
        rows = {e["label"]: e.get("intValue") for e in materialization["metadataEntries"]}["dagster/row_count"]
        with duckdb.connect(str(copy.warehouse), read_only=True) as con:
            assert rows == con.execute("select count(*) from raw.email_addresses").fetchall()[0][0] > 0
        # The build's runs (`omnichannel run`'s path) are on their jobs' pages too, not only in the list of all runs.
        listed = _graphql(base, JOB_RUNS, {"name": "transform"})["pipelineOrError"]["runs"]
        assert copy.runs["transform"] in {r["runId"] for r in listed}

        # "Re-execute" on a run `omnichannel run` made, clicked on the run's page: the ingestion of the build's
        # second run (its last few days). Last, so that no later step reads what it loads again.
        day = max(key for key in copy.runs if key[:2] == "20")
        parent = copy.runs[day]
        with duckdb.connect(str(copy.warehouse), read_only=True) as con:
            loaded = "select * exclude (_loaded_at) from raw.ingest_log where _delivery_date = ? order by all"
            log_before = con.execute(loaded, [day]).fetchall()
        page.goto(f"{base}/runs/{parent}")
        reexecute = page.get_by_role("button", name="Re-execute all (*)")
        reexecute.wait_for()
        _wait(reexecute.is_enabled, "the Re-execute button to be enabled (the run's job found in its location)", 60)
        before = {r["runId"] for r in _graphql(base, RUNS)["runsOrError"]["results"]}
        reexecute.click()
        [child] = _wait(
            lambda: [r for r in _graphql(base, RUNS)["runsOrError"]["results"] if r["runId"] not in before],
            "a run launched by Re-execute",
            60,
        )
        rerun = _wait(lambda: _finished_run(base, child["runId"]), "the re-executed run to finish")
        assert rerun["status"] == "SUCCESS", (copy.root / "dagster_dev.log").read_text()[-3000:]
        assert (rerun["jobName"], rerun["parentRunId"], rerun["rootRunId"]) == ("ingest_delivery_day", parent, parent)
        # The same days again: the partition tags `omnichannel run` gave the run.
        assert _partition_tags(rerun) == _partition_tags(_finished_run(base, parent)) != {}
        with duckdb.connect(str(copy.warehouse), read_only=True) as con:
            assert con.execute(loaded, [day]).fetchall() == log_before != []  # the day loaded again, identically
        page.close()
        assert [m for m in errors.messages if "favicon" not in m] == []
    finally:
        _stop(process)
        log.close()
