"""The Evidence dashboard's SQL (bi/), run with DuckDB on the published file as Evidence runs it: the source queries
read the release read-only, the page's queries run on their results, every chart and table names columns its
query returns, and the figures shown are the published marts'.

Evidence's own build cannot run on a machine that reaches no host but the package registries (DuckDB-Wasm fetches
its Parquet extension from extensions.duckdb.org; README, "The BI dashboard"), so this is what CI checks of it.
"""

import contextlib
import re
from pathlib import Path

import duckdb
import pytest

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
