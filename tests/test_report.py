"""The release report: every number it draws equals the published marts' (read from the published file itself), a
mart missing from a release is said to be, the contact-policy and lifetime-value charts draw from their contract
columns, and the report is a Dagster asset downstream of the publication."""

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import run_dbt
from report_pages import points, read_report, traces

from orchestration.reporting.build import write_release_report
from orchestration.reporting.claims import SEED_CLAIMS
from orchestration.reporting.sections import CheckOutcome

STATUS_RANK = {"ok": 0, "not_yet_synced": 1, "no_control_totals": 2, "error": 3}


@pytest.fixture(scope="module")
def release(world) -> Path:
    return (world.root / "published" / "current").resolve()


@pytest.fixture(scope="module")
def published(release):
    with duckdb.connect(str(release / "omnichannel.duckdb"), read_only=True) as con:
        yield lambda sql: con.execute(sql).df()


@pytest.fixture(scope="module")
def figures(release):
    return read_report(release / "report.html")[0]


def test_the_pipeline_writes_a_self_contained_report_into_the_release(world, release):
    page = (release / "report.html").read_text(encoding="utf-8")
    assert (world.root / "published" / "current" / "report.html").exists()
    assert "Plotly.newPlot" in page and "plotly.js v" in page.lower()[:10_000_000]
    # Offline: nothing is loaded from anywhere (no CDN script, no stylesheet or font link).
    assert "<script src=" not in page and "<link" not in page
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["release_id"] in page


def test_attribution_drawn_is_the_published_attribution(published, figures):
    expected = published(
        "select model, channel, sum(attributed_conversions) as conversions, sum(attributed_revenue) as revenue "
        "from marts.agg_channel_attribution group by all"
    )
    assert expected["model"].nunique() == 7
    for measure in ("conversions", "revenue"):
        drawn = traces(figures[f"attribution-{measure}"])
        assert set(drawn) == set(expected["model"])
        for model, rows in expected.groupby("model"):
            got = {c: y for c, y in points(drawn[model]).items() if y is not None}
            assert got == pytest.approx(dict(zip(rows["channel"], rows[measure]))), (measure, model)


def test_transitions_sankey_and_switches_are_the_published_ones(published, figures):
    sankey = figures["transitions-sankey"]["data"][0]
    labels = sankey["node"]["label"]
    drawn = {
        (labels[s], labels[t]): v
        for s, t, v in zip(sankey["link"]["source"], sankey["link"]["target"], sankey["link"]["value"])
    }
    expected = published(
        "select from_channel, to_channel, sum(transitions) as n from marts.fct_channel_transition "
        "where from_channel is not null and transitions > 0 group by all"
    )
    assert drawn == {
        (f, "(end)" if t in (None, "(null)") else t): n
        for f, t, n in zip(expected["from_channel"], expected["to_channel"], expected["n"])
    }
    switches = points(traces(figures["transitions-before-purchase"])[""])
    top = published(
        "select from_channel || ' -> ' || to_channel as switch, transitions_before_purchase as n "
        "from marts.agg_purchase_channel_switches where transitions_before_purchase > 0"
    )
    assert switches and all(top.set_index("switch")["n"][s] == n for s, n in switches.items())
    assert min(switches.values()) >= top["n"].nlargest(len(switches)).min()


def test_retention_curves_and_claims_are_the_published_cohorts_and_impact(published, figures):
    cohorts = published(
        "select engagement_tier, months_since_first_purchase as period, sum(retained) / sum(customers) as rate "
        "from marts.agg_retention_cohort group by all"
    )
    drawn = traces(figures["retention-curves"])
    for tier, rows in cohorts.groupby("engagement_tier"):
        name = next(n for n in drawn if n.startswith(f"{tier} channel"))
        assert points(drawn[name]) == pytest.approx(dict(zip(rows["period"], rows["rate"])))
    impact = published("select * from marts.agg_omnichannel_impact").set_index("engagement_group")
    measured = points(traces(figures["claims-measured"])["measured"])
    multi, single = impact.loc["multi_channel"], impact.loc["single_channel"]
    assert measured["retention_multi_channel"] == pytest.approx(multi["retention_rate"])
    assert measured["retention_single_channel"] == pytest.approx(single["retention_rate"])
    assert measured["open_rate_lift"] == pytest.approx(multi["open_rate"] / single["open_rate"] - 1)
    assert measured["conversion_rate_lift"] == pytest.approx(multi["conversion_rate"] / single["conversion_rate"] - 1)
    claimed = points(traces(figures["claims-measured"])["claimed"])
    assert claimed["retention_multi_channel"] == 0.89 and claimed["open_rate_lift"] == pytest.approx(0.20)
    touches = published("select touches, conversions from marts.agg_touches_before_purchase")
    assert points(traces(figures["touches-before-purchase"])["purchases"]) == dict(
        zip(touches["touches"], touches["conversions"])
    )
    assert {c.key for c in SEED_CLAIMS} >= set(claimed)


def test_sync_heatmap_is_the_worst_published_status_of_each_source_and_day(published, figures):
    heatmap = figures["sync-heatmap"]["data"][0]
    drawn = {
        (source, day): z
        for source, row in zip(heatmap["y"], heatmap["z"])
        for day, z in zip(heatmap["x"], row)
        if z is not None
    }
    rows = published("select source, event_date::varchar as day, status from marts.agg_sync_accuracy")
    rows["rank"] = rows["status"].map(STATUS_RANK)
    expected = rows.groupby(["source", "day"])["rank"].max().to_dict()
    assert drawn == expected and len(drawn) > 10


def test_a_mart_missing_from_a_release_is_said_to_be_and_the_rest_still_draws(release, tmp_path):
    copy = tmp_path / "release"
    copy.mkdir()
    shutil.copyfile(release / "manifest.json", copy / "manifest.json")
    with duckdb.connect(str(copy / "omnichannel.duckdb")) as con:
        con.execute(f"attach '{release / 'omnichannel.duckdb'}' as src (read_only)")
        con.execute("create schema marts")
        for table in ("agg_sync_accuracy", "agg_retention_cohort"):
            con.execute(f"create table marts.{table} as select * from src.marts.{table}")
    report = write_release_report(copy, json.loads((copy / "manifest.json").read_text()))
    figures, sections = read_report(report.path)
    assert sections["attribution"]["missing"] == ["agg_channel_attribution"]
    assert not any(chart.startswith("attribution") for chart in figures)
    assert "Not published in this release: agg_channel_attribution" in report.path.read_text()
    assert {"sync-heatmap", "retention-curves"} <= set(figures)


@pytest.fixture(scope="module")
def contact_and_value_release(published, release, tmp_path_factory) -> Path:
    """A release holding the contact-policy and lifetime-value marts (other branches bring them) with the columns
    the contract names and theirs, filled from this world's own sends and purchases."""
    root = tmp_path_factory.mktemp("contact_release")
    shutil.copyfile(release / "manifest.json", root / "manifest.json")
    with duckdb.connect(str(root / "omnichannel.duckdb")) as con:
        con.execute(f"attach '{release / 'omnichannel.duckdb'}' as src (read_only)")
        con.execute("create schema marts")
        con.execute("""create table marts.fct_message_pressure as
            select customer_id, occurred_at::date as message_date, channel, count(*) as marketing_messages,
                   0 as transactional_messages
            from src.marts.fct_touchpoint where direction = 'outbound' and customer_id is not null group by all""")
        con.execute("""create table marts.fct_frequency_violation as
            select 'v' || row_number() over () as violation_id, customer_id,
                   case when marketing_messages > 4 then 'quiet_hours' else 'cross_channel_cap' end as violation_type
            from marts.fct_message_pressure where marketing_messages > 2""")
        con.execute("""create table marts.fct_consent as
            select customer_id, channel, case when hash(customer_id) % 5 = 0 then 'opted_out' else 'opted_in' end
                   as status, min(message_date)::timestamp as valid_from, null::timestamp as valid_to
            from marts.fct_message_pressure group by customer_id, channel""")
        con.execute("""create table marts.fct_preference_violation as
            select p.customer_id, p.channel, p.message_date > c.valid_from::date + 10 as is_past_legal_limit
            from marts.fct_message_pressure p join marts.fct_consent c using (customer_id, channel)
            where c.status = 'opted_out'""")
        con.execute("""create table marts.agg_preference_compliance as
            select channel, message_date, 1 - count(v.customer_id) / count(*) as compliance_rate
            from marts.fct_message_pressure p
            left join marts.fct_preference_violation v using (customer_id, channel)
            group by all""")
        con.execute("""create table marts.customer_lifetime_value as
            select customer_id, sum(revenue) as historical_revenue, count(*) as orders,
                   count(*) * 0.4 as predicted_purchases_12m, 0.8 as probability_alive,
                   case when count(*) > 1 then sum(revenue) * 0.4 end as predicted_value_12m,
                   case when count(*) > 1 then 'loyal' else 'new' end as rfm_segment
            from src.marts.fct_conversion where customer_id is not null group by 1""")
        con.execute("""create table marts.agg_channel_lifetime_value as
            select a.model, a.channel, sum(a.credit * coalesce(v.predicted_value_12m, 0)) as predicted_value_12m
            from src.marts.fct_attribution a join marts.customer_lifetime_value v using (customer_id) group by all""")
    return root


BACKTEST = CheckOutcome(
    asset="marts/customer_lifetime_value",
    name="clv_backtest",
    passed=True,
    severity="WARN",
    description="holdout purchase days predicted 41.2, actual 38",
    metadata={
        "predicted_holdout_purchases": 41.2,
        "actual_holdout_purchases": 38,
        "by_calibration_frequency": [
            {"calibration_repeat_purchases": "0", "customers": 120, "predicted_total": 20.5, "actual_total": 18},
            {"calibration_repeat_purchases": "1", "customers": 30, "predicted_total": 12.1, "actual_total": 13},
            {"calibration_repeat_purchases": "2+", "customers": 9, "predicted_total": 8.6, "actual_total": 7},
        ],
    },
)


def test_contact_policy_and_lifetime_value_charts_draw_once_their_marts_are_published(contact_and_value_release):
    root = contact_and_value_release
    report = write_release_report(root, json.loads((root / "manifest.json").read_text()), [BACKTEST])
    figures, sections = read_report(report.path)
    for key in ("pressure", "consent", "lifetime_value"):
        assert sections[key]["missing"] == [], key
    with duckdb.connect(str(root / "omnichannel.duckdb"), read_only=True) as con:
        q = lambda sql: con.execute(sql).df()  # noqa: E731
        daily = q(
            "select message_date::varchar as d, channel, sum(marketing_messages) as n "
            "from marts.fct_message_pressure group by all"
        )
        for channel, trace in traces(figures["pressure-daily"]).items():
            rows = daily[daily["channel"] == channel]
            assert points(trace) == dict(zip(rows["d"], rows["n"])), channel
        breaches = q("select violation_type, count(*) as n from marts.fct_frequency_violation group by 1")
        assert points(traces(figures["frequency-breaches"])["breaches"]) == dict(
            zip(breaches["violation_type"], breaches["n"])
        )
        past = q(
            "select channel, count(*) filter (where is_past_legal_limit) as n "
            "from marts.fct_preference_violation group by 1"
        )
        assert points(traces(figures["preference-violations"])["past the legal limit"]) == dict(
            zip(past["channel"], past["n"])
        )
        rates = q("select channel, message_date::varchar as d, compliance_rate from marts.agg_preference_compliance")
        for channel, trace in traces(figures["consent-compliance"]).items():
            rows = rates[rates["channel"] == channel]
            assert points(trace) == pytest.approx(dict(zip(rows["d"], rows["compliance_rate"])))
        opted_out = q("select channel, count(*) as n from marts.fct_consent where status = 'opted_out' group by 1")
        assert points(traces(figures["consent-now"])["opted_out"]) == dict(zip(opted_out["channel"], opted_out["n"]))
        values = q(
            "select predicted_value_12m from marts.customer_lifetime_value where predicted_value_12m is not null"
        )
        drawn = traces(figures["ltv-distribution"])["predicted 12-month value"]["x"]
        assert sorted(drawn) == pytest.approx(sorted(values["predicted_value_12m"]))
        segments = q("select rfm_segment, sum(historical_revenue) as v from marts.customer_lifetime_value group by 1")
        assert points(traces(figures["ltv-segments"])["revenue to date"]) == pytest.approx(
            dict(zip(segments["rfm_segment"], segments["v"]))
        )
    backtest = traces(figures["ltv-backtest"])
    assert points(backtest["predicted"]) == {"0": 20.5, "1": 12.1, "2+": 8.6}
    assert points(backtest["actual"]) == {"0": 18, "1": 13, "2+": 7}


CDNOW = Path(__file__).parent / "fixtures" / "cdnow_sample_transactions.csv"


@pytest.mark.slow
def test_the_back_test_chart_draws_the_check_the_pipeline_computes_on_a_history_with_repeat_buyers(
    contact_and_value_release, tmp_path
):
    """The CDNOW cohort (946 repeat buyers in its first 39 weeks, tests/test_clv.py) as the purchase days the
    warehouse holds: dbt's back-test models and the back-test check run on it as in a pipeline run (a simulated
    week has too few repeat buyers to back-test), and the report draws what the check measured, bucket by bucket."""
    import dagster as dg

    from orchestration.defs.gate import check_outcome
    from orchestration.defs.metrics import BACKTEST_CHECK, LIFETIME_VALUE_ASSET, clv_backtest
    from orchestration.defs.resources import Warehouse

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema intermediate")
        # int_customer_purchase_days' columns: one row per customer and purchase day.
        con.execute(f"""
            create table intermediate.int_customer_purchase_days as
            select cast(customer_id as varchar) as customer_id, order_date as purchase_date, count(*) as orders,
                   sum(value) as revenue, min(order_date)::timestamptz as first_converted_at
            from read_csv('{CDNOW}', columns = {{'customer_id': 'integer', 'order_date': 'date', 'cds': 'integer',
                                                  'value': 'double'}}, header = true)
            group by all""")
    run_dbt("run", ["int_clv_backtest_summary", "int_clv_backtest_predictions"], warehouse, tmp_path)
    result = clv_backtest(warehouse=Warehouse(path=str(warehouse)))
    outcome = check_outcome(dg.AssetCheckKey(LIFETIME_VALUE_ASSET, BACKTEST_CHECK), result)
    buckets = outcome.metadata["by_calibration_frequency"]
    assert "mae" in outcome.metadata and len(buckets) >= 4, outcome.description
    # BG/NBD on CDNOW forecasts the holdout's total within the tolerated error, as Fader, Hardie and Lee found.
    assert outcome.passed, outcome.description
    assert sum(b["actual_total"] for b in buckets) == outcome.metadata["actual_holdout_purchases"]

    root = tmp_path / "release"
    shutil.copytree(contact_and_value_release, root)
    report = write_release_report(root, json.loads((root / "manifest.json").read_text()), [outcome])
    figures, sections = read_report(report.path)
    assert sections["lifetime_value"]["missing"] == []
    drawn = traces(figures["ltv-backtest"])
    labels = [str(b["calibration_repeat_purchases"]) for b in buckets]
    assert points(drawn["predicted"]) == pytest.approx(dict(zip(labels, (b["predicted_total"] for b in buckets))))
    assert points(drawn["actual"]) == dict(zip(labels, (b["actual_total"] for b in buckets)))
    assert f"Back-test (marts/customer_lifetime_value:clv_backtest, passed): {outcome.description}" in (
        report.path.read_text(encoding="utf-8")
    )


def test_contact_policy_charts_need_only_the_contract_columns(contact_and_value_release, tmp_path):
    """A mart with only the columns the contract names still draws (counts of its rows per channel)."""
    root = tmp_path / "release"
    root.mkdir()
    shutil.copyfile(contact_and_value_release / "manifest.json", root / "manifest.json")
    with duckdb.connect(str(root / "omnichannel.duckdb")) as con:
        con.execute(f"attach '{contact_and_value_release / 'omnichannel.duckdb'}' as src (read_only)")
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_message_pressure as select customer_id, channel from src.marts.fct_message_pressure"
        )
        con.execute(
            "create table marts.agg_preference_compliance as select channel from src.marts.agg_preference_compliance"
        )
        counts = con.execute("select channel, count(*) from marts.fct_message_pressure group by 1").fetchall()
    figures, sections = read_report(write_release_report(root, {}).path)
    assert points(traces(figures["pressure-daily"])[""]) == dict(counts)
    assert "consent-compliance" in figures
    assert "fct_frequency_violation" in sections["pressure"]["missing"]
    assert "the lifetime-value back-test check" in sections["lifetime_value"]["missing"]


def test_the_report_is_an_asset_downstream_of_the_publication_in_the_transform_and_publish_jobs():
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.defs.publishing import PUBLISHED_KEY
    from orchestration.defs.reporting import REPORT_KEY

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    assert graph.get(REPORT_KEY).parent_keys == {PUBLISHED_KEY}
    assert graph.get(REPORT_KEY).description
    for job in ("transform", "publish"):
        assert REPORT_KEY in defs.resolve_job_def(job).asset_layer.selected_asset_keys, job
    raw = [dg.AssetKey(["raw", "ingest_log"]), dg.AssetKey(["raw", "erased_daily_totals"])]
    for key in raw:
        node = graph.get(key)
        assert node.group_name == "raw" and node.description and node.kinds == {"duckdb"}, key
    assert not [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "default"]


def test_a_release_scrubbed_by_forget_gets_its_report_drawn_again_from_its_own_marts(world, tmp_path):
    from orchestration.publishing.release import scrub_current
    from orchestration.reporting.build import redraw_release_report

    publish_dir = tmp_path / "published"
    shutil.copytree(world.root / "published", publish_dir, symlinks=True)
    with duckdb.connect(str(publish_dir / "current" / "omnichannel.duckdb"), read_only=True) as con:
        buyer = con.execute("select min(customer_id) from marts.fct_conversion").fetchall()[0][0]
    scrubbed = scrub_current(publish_dir, [buyer])
    assert not (scrubbed.path / "report.html").exists()  # the scrubbed copy holds the marts only
    report = redraw_release_report(scrubbed.path)
    page = (publish_dir / "current" / "report.html").read_text()
    assert report.path == scrubbed.path / "report.html" and scrubbed.release_id in page
    figures, _ = read_report(report.path)
    with duckdb.connect(str(scrubbed.path / "omnichannel.duckdb"), read_only=True) as con:
        credited = dict(
            con.execute(
                "select channel, sum(attributed_conversions) from marts.agg_channel_attribution "
                "where model = 'linear' group by 1"
            ).fetchall()
        )
    linear = points(traces(figures["attribution-conversions"])["linear"])
    assert {c: y for c, y in linear.items() if y is not None} == pytest.approx(credited)
