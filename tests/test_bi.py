"""The Evidence dashboard (bi/). Its SQL, run with DuckDB on the published file as Evidence runs it: the source
queries read the release read-only, the page's queries run on their results, every chart and table names columns
its query returns, and the figures shown are the published marts'. Then Evidence's own build of it (`npm run
sources && npm run build`, offline: README, "The BI dashboard"), its sources step run while `omnichannel run`
writes the working warehouse, served on loopback and opened in chromium: it shows the published numbers.
"""

import contextlib
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import PageErrors, copy_world

from orchestration.settings import PROJECT_ROOT

BI = PROJECT_ROOT / "bi"
SOURCE = BI / "sources" / "omnichannel"


def _statements(sql: str) -> list[str]:
    """The file's statements, comments dropped (the plugin runs all but the last first, ignoring their errors)."""
    code = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in code.split(";") if s.strip()]


def _page_queries(page: Path) -> dict[str, str]:
    return dict(re.findall(r"```sql (\w+)\n(.*?)```", page.read_text(), flags=re.S))


@pytest.fixture(scope="module")
def dashboard(world):
    """Each page query's result, computed from the source queries' results as Evidence's universal SQL does."""
    published = (world.root / "published" / "current" / "omnichannel.duckdb").resolve()
    results = duckdb.connect()
    results.execute("create schema omnichannel")
    with duckdb.connect(str(published), read_only=True) as source:
        for path in sorted(SOURCE.glob("*.sql")):
            *prefix, main = _statements(path.read_text())
            for statement in prefix:
                # As the plugin does: a prefix statement that fails (a mart not yet published) is skipped.
                with contextlib.suppress(duckdb.Error):
                    source.execute(statement)
            frame = source.execute(main).df()
            results.register("frame", frame)
            results.execute(f"create table omnichannel.{path.stem} as select * from frame")
            results.unregister("frame")
    pages = {}
    for name, sql in _page_queries(BI / "pages" / "index.md").items():
        sql = re.sub(r"\$\{(\w+)\}", r"\1", sql)  # ${query} is another query's result
        results.execute(f"create table {name} as {sql}")
        pages[name] = results.execute(f"select * from {name}").df()
    yield pages, published
    results.close()


def test_the_source_points_at_the_published_file_read_only_by_default():
    connection = (SOURCE / "connection.yaml").read_text()
    assert "type: duckdb" in connection
    target = (SOURCE / re.search(r"filename: (\S+)", connection).group(1)).resolve()
    assert target == (PROJECT_ROOT / ".omnichannel" / "published" / "current" / "omnichannel.duckdb").resolve()


def test_every_chart_and_table_names_columns_its_query_returns(dashboard):
    pages, _ = dashboard
    page = (BI / "pages" / "index.md").read_text()
    used = []
    for component in re.finditer(r"<(\w+) data=\{(\w+)\}(.*?)/?>(.*?)(?=<\w+ data=|\Z)", page, flags=re.S):
        _, data, attributes, body = component.groups()
        used += [(data, c) for _, c in re.findall(r"\b(x|y|series|value|column)=(\w+)", attributes)]
        if component.group(1) == "DataTable":
            used += [(data, c) for c in re.findall(r"<Column id=(\w+)", body)]
    assert len(used) > 15
    for data, column in used:
        assert column in pages[data].columns, (data, column)


def test_the_dashboard_shows_the_published_numbers(dashboard):
    pages, published = dashboard
    with duckdb.connect(str(published), read_only=True) as con:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        conversions, revenue = q("select count(*), sum(revenue) from marts.fct_conversion")[0]
        totals = pages["totals"].iloc[0]
        assert totals["conversions"] == conversions and totals["revenue"] == pytest.approx(float(revenue))
        attribution = {
            (m, c): (n, r)
            for m, c, n, r in q(
                "select model, channel, sum(attributed_conversions), sum(attributed_revenue) "
                "from marts.agg_channel_attribution group by all"
            )
        }
        shown = pages["attribution_by_model"]
        assert len(shown) == len(attribution)
        for row in shown.itertuples():
            assert (row.conversions, row.revenue) == pytest.approx(attribution[row.model, row.channel])
        worst = q(
            "select count(*), count(*) filter (where worst = 0), count(*) filter (where worst = 3) from ("
            "select source, event_date, max(case status when 'ok' then 0 when 'not_yet_synced' then 1 "
            "when 'no_control_totals' then 2 else 3 end) as worst from marts.agg_sync_accuracy group by all)"
        )[0]
        summary = pages["sync_summary"].iloc[0]
        assert (summary["source_days"], summary["ok"], summary["errors"]) == worst
        sends = q("select sum(sends) from marts.agg_daily_channel_kpis")[0][0]
        assert pages["sends"]["sends"].sum() == sends
        # The per-customer pressure chart waits for fct_message_pressure: empty until a release holds it.
        held = q("select count(*) from information_schema.tables where table_name = 'fct_message_pressure'")[0][0]
        assert pages["pressure"].empty == (not held)


# --- Evidence's own build: `npm run sources && npm run build`, served and opened in chromium -----------------

SOURCES = sorted(p.stem for p in SOURCE.glob("*.sql"))


def _npm() -> str:
    """npm, with the dashboard's packages installed by scripts/setup.sh (`npm ci` in bi/)."""
    npm = shutil.which("npm")
    if npm is None or not (BI / "node_modules" / ".bin" / "evidence").exists():
        message = "npm or bi/node_modules is missing: scripts/setup.sh runs `npm ci` in bi/ (Node 20 brings npm)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return npm


def _writers(path: Path) -> set[int]:
    """The processes holding a write lock on the file (DuckDB's, while one has the file open to write), read from
    /proc/locks: asking DuckDB would take a lock of our own, which could be what makes the writer fail."""
    st = path.stat()
    held = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    lines = (line.split() for line in Path("/proc/locks").read_text().splitlines())
    return {int(f[4]) for f in lines if len(f) > 5 and f[3] == "WRITE" and f[5] == held}


def _npm_run(npm: str, script: str, project: Path, env: dict, timeout_s: int) -> str:
    try:
        done = subprocess.run(
            [npm, "run", script], cwd=project, env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as exc:
        # What a DuckDB-Wasm that fetches its Parquet extension does offline: it waits for good (README).
        output = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail(f"`npm run {script}` did not finish in {timeout_s} s: {(output or '')[-2000:]}")
    # Evidence writes each source's progress ("<query> ✔ Finished, wrote N rows.") to stderr, the rest to stdout.
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    return output


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def _served(folder: Path):
    """The static site in `folder` on a loopback port, as any web server would serve it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def evidence_site(world, tmp_path_factory):
    """The dashboard as Evidence builds it, from a copy of the default world's publication, its sources step run
    while an `omnichannel run` writes that copy's working warehouse; (build folder, release read, run's output)."""
    npm = _npm()
    copy = copy_world(world, tmp_path_factory, "evidence_world")
    # The project's files in a fresh folder (the build writes .evidence/ and build/ beside them), its packages
    # those scripts/setup.sh installed.
    project = tmp_path_factory.mktemp("evidence_project")
    for name in ("pages", "sources"):
        shutil.copytree(BI / name, project / name)
    for name in ("package.json", "evidence.plugins.yaml"):
        shutil.copyfile(BI / name, project / name)
    (project / "node_modules").symlink_to(BI / "node_modules")
    current = copy.root / "published" / "current" / "omnichannel.duckdb"
    settings = {
        "OMNI_HOME": str(copy.root),
        "OMNI_LANDING_DIR": str(copy.landing),
        "OMNI_WAREHOUSE": str(copy.warehouse),
        "OMNI_PUBLISH_DIR": str(copy.root / "published"),
        "OMNI_DATA_DOCS_DIR": str(copy.root / "data_docs"),
    }
    run_env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | settings
    # The plugin joins the filename to the source's folder: a path relative to it.
    evidence_env = os.environ | {
        "EVIDENCE_SOURCE__omnichannel__filename": os.path.relpath(current, project / "sources" / "omnichannel")
    }
    run = subprocess.Popen(
        [str(Path(sys.executable).parent / "omnichannel"), "run"],
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The run's steps (dbt's build, say) write the warehouse from processes of their own; the command's own
        # open at its start (to name a process already holding it) lasts an instant and is not waited for.
        deadline = time.monotonic() + 600
        while not _writers(copy.warehouse) - {run.pid}:
            assert run.poll() is None, "the run ended before it wrote the warehouse: " + run.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "the run never opened the warehouse to write"
            time.sleep(0.2)
        release = current.resolve()
        sources_output = _npm_run(npm, "sources", project, evidence_env, 600)
        run_output, _ = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, run_output[-3000:]
    _npm_run(npm, "build", project, evidence_env, 1200)
    return project / "build", release, sources_output, run_output


def test_evidence_sources_read_the_publication_while_a_run_writes_the_warehouse(evidence_site):
    _, release, sources_output, run_output = evidence_site
    assert "Error" not in sources_output and "✅ Done!" in sources_output, sources_output
    with duckdb.connect(str(release), read_only=True) as con:
        conversions = con.execute(
            "select count(distinct (converted_at::date, purchase_channel)) from marts.fct_conversion"
        )
        expected = conversions.fetchall()[0][0]
    wrote = dict(re.findall(r"(\w+) ✔ Finished, wrote (\d+) rows", sources_output))
    assert set(wrote) == set(SOURCES) and int(wrote["conversions"]) == expected
    assert "in use by process" not in run_output and "Could not set lock" not in run_output, run_output


def test_evidence_static_build_shows_the_published_numbers_in_the_browser(evidence_site, browser):
    site, release, _, _ = evidence_site
    with duckdb.connect(str(release), read_only=True) as con:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        conversions, revenue = q("select count(*), sum(revenue) from marts.fct_conversion")[0]
        attribution = q(
            "select model, channel, sum(attributed_conversions), sum(attributed_revenue) "
            "from marts.agg_channel_attribution group by all order by all"
        )
        ok, errors = q(
            "select count(*) filter (where worst = 0), count(*) filter (where worst = 3) from ("
            "select source, event_date, max(case status when 'ok' then 0 when 'not_yet_synced' then 1 "
            "when 'no_control_totals' then 2 else 3 end) as worst from marts.agg_sync_accuracy group by all)"
        )[0]
    expected = {
        "conversions": str(conversions),
        "revenue": f"{revenue:.2f}",
        "sync-ok": str(ok),
        "sync-errors": str(errors),
    }
    # Prerendered by the build (its DuckDB-Wasm ran the page's queries on the sources' Parquet files) ...
    html = (site / "index.html").read_text()
    prerendered = dict(re.findall(r'data-testid="([\w-]+)">\s*<span[^>]*>([^<]*)<', html))
    assert prerendered == expected
    # ... and in the browser, whose DuckDB-Wasm loads those files from the site itself and nothing from elsewhere.
    with _served(site) as base:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        errors_seen = PageErrors.watch(page)
        elsewhere, parquet = [], set()
        # Any request over the network that is not to the site (data: and blob: URLs are the page's own).
        page.on(
            "request",
            lambda r: r.url.startswith(("http", "ws")) and not r.url.startswith(base) and elsewhere.append(r.url),
        )
        page.on("requestfinished", lambda r: r.url.endswith(".parquet") and parquet.add(r.url.split("/")[-2]))
        page.goto(base + "/")
        page.wait_for_function("() => document.querySelectorAll('table tr td').length > 0")
        deadline = time.monotonic() + 120
        while parquet != set(SOURCES) and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        shown = {t: page.locator(f"[data-testid={t}]").first.inner_text().strip() for t in expected}
        tables = page.evaluate(
            "() => [...document.querySelectorAll('table')].map(t => [...t.querySelectorAll('tr')]"
            ".map(r => [...r.querySelectorAll('td')].map(c => c.textContent.trim())).filter(r => r.length))"
        )
        page.close()
    assert errors_seen.messages == [] and elsewhere == []
    assert parquet == set(SOURCES)
    assert shown == expected

    # The attribution table: a page of it on the page, all of it in its full-screen view (both in the DOM), each
    # figure to the cent shown (a sum that lands on a half cent may round either way, by its order of addition).
    def agrees(row, published):
        (model, channel, n, r), (m, c, *figures) = row, published
        return (model, channel) == (m, c) and all(
            abs(float(f) - x) <= 0.005 + 1e-9 for f, x in zip((n, r), figures, strict=True)
        )

    copies = [t for t in tables if t and t[0][:2] == list(attribution[0][:2])]
    assert copies and max(len(t) for t in copies) == len(attribution)
    for table in copies:
        assert all(agrees(row, published) for row, published in zip(table, attribution)), table
