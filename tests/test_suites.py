"""The GX suites catch what they promise to, and name the offending values."""

import logging

import duckdb
import pytest

from data_quality.gx_runner import SuiteRunner
from data_quality.suites.raw import raw_suites
from data_quality.suites.staging import STAGING_SUITES
from data_quality.validate import validate_batch, validate_batches
from orchestration.defs.quality import MART_SUITES


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute("create schema staging; create schema marts; create schema raw")
    yield connection
    connection.close()


def test_staging_suite_names_a_bad_phone_a_duplicate_key_and_a_stale_timestamp(con, tmp_path):
    con.execute("""create table staging.stg_sms__messages as select * from (values
        ('SM1', timestamp '2026-03-14 10:00', date '2026-03-14', '+14155550132', 'delivered'),
        ('SM1', timestamp '2026-03-14 10:00', date '2026-03-14', '4155550132', 'delivered'),
        ('SM2', timestamp '2026-01-01 10:00', date '2026-03-14', null, 'teleported'))
        t(event_id, event_at, delivery_date, customer_phone, status)""")
    outcome = validate_batch(con, SuiteRunner(tmp_path), STAGING_SUITES["stg_sms__messages"], "2026-03-14")
    failed = {f.expectation: f for f in outcome.failures}
    assert not outcome.success
    assert failed["expect_column_values_to_match_regex"].examples == ["4155550132"]
    assert failed["expect_column_values_to_be_unique"].examples == ["SM1", "SM1"]
    assert "expect_column_values_to_be_between" in failed  # 72 days before its delivery
    assert failed["expect_column_values_to_be_in_set"].examples == ["teleported"]


def test_staging_suite_passes_clean_rows(con, tmp_path):
    con.execute("""create table staging.stg_sms__messages as select * from (values
        ('SM1', timestamp '2026-03-13 10:00', date '2026-03-14', '+14155550132', 'delivered'))
        t(event_id, event_at, delivery_date, customer_phone, status)""")
    assert validate_batch(con, SuiteRunner(tmp_path), STAGING_SUITES["stg_sms__messages"], "2026-03-14").success


def _orders_day(con, good: int, mistyped: int) -> None:
    """A delivery day of order versions, `mistyped` of them with an address missing its `@`."""
    con.execute(
        """create or replace table staging.stg_orders__order_versions as
           select 'o' || i as event_id, timestamp '2026-03-14 10:00' as event_at, date '2026-03-14' as delivery_date,
                  case when i < ? then 'jennifer.jackson' || i || '..hotmail.com' else 'jen' || i || '@hotmail.com' end
                      as email,
                  '+14155550132' as phone, 10.0 as total_price, 0.0 as refunded_amount
           from range(?) t(i)""",
        [mistyped, good + mistyped],
    )


@pytest.mark.parametrize(
    ("good", "mistyped", "passes"),
    [
        (17, 1, True),  # a small day's one mistyped address: 5.6 % of the day, by chance, from a source inside 5 %
        (9, 9, False),  # half of a small day: no source inside 5 % does that
        (9_500, 500, True),  # a large day right at the tolerance
        (9_200, 800, False),  # 8 % of 10,000 rows: a source above its tolerance still blocks
    ],
)
def test_an_address_tolerance_allows_a_small_days_chance_and_still_fails_a_source_above_it(
    con, tmp_path, good, mistyped, passes
):
    _orders_day(con, good, mistyped)
    outcome = validate_batch(con, SuiteRunner(tmp_path), STAGING_SUITES["stg_orders__order_versions"], "2026-03-14")
    assert outcome.success is passes, outcome.describe()
    if not passes:
        assert [f.expectation for f in outcome.failures] == ["expect_column_values_to_match_regex"]
        assert outcome.failures[0].unexpected_count == mistyped


def test_a_batchs_tolerance_is_what_chance_reaches_at_the_suites_rate_and_tends_to_it():
    from scipy.stats import binom

    from data_quality.sampling import FALSE_ALARM, batch_mostly

    for rows in (1, 18, 100, 1_000, 10_000, 300_000):
        mostly = batch_mostly(0.95, rows)
        allowed = round((1 - mostly) * rows)
        # A source exactly at 5 % exceeds the allowance with chance at most FALSE_ALARM, one fewer would not.
        assert binom.sf(allowed, rows, 0.05) <= FALSE_ALARM < binom.sf(allowed - 1, rows, 0.05)
    assert batch_mostly(0.95, 18) < batch_mostly(0.95, 1_000) < batch_mostly(0.95, 300_000) < 0.95
    assert batch_mostly(0.95, 300_000) > 0.948
    assert batch_mostly(1.0, 18) == 1.0


def test_raw_suite_catches_a_second_first_copy_of_an_event(con, tmp_path):
    con.execute("""create table raw.email as select * from (values
        ('e1', '{}'::json, false, 'f', 1, date '2026-03-14'), ('e1', '{}'::json, false, 'f', 2, date '2026-03-14'))
        t(_event_id, record, _is_duplicate, _file, _line, _delivery_date)""")
    outcome = validate_batch(con, SuiteRunner(tmp_path), raw_suites(["email"])["email"], "2026-03-14")
    assert [f.expectation for f in outcome.failures] == ["expect_column_values_to_be_unique"]


def test_days_validated_together_once_and_each_alone_only_when_the_union_fails(con, tmp_path):
    con.execute("""create table raw.email as select * from (values
        ('e1', '{}'::json, false, 'f', 1, date '2026-03-14'), ('e2', '{}'::json, false, 'f', 2, date '2026-03-14'),
        ('e3', '{}'::json, false, 'g', 1, date '2026-03-15'), ('e4', '{}'::json, false, 'h', 1, date '2026-03-16'))
        t(_event_id, record, _is_duplicate, _file, _line, _delivery_date)""")
    suite = raw_suites(["email"])["email"]
    seen = []

    def one_day(con, runner, suite, day):
        seen.append(day)
        return validate_batch(con, runner, suite, day)

    days = ["2026-03-14", "2026-03-15", "2026-03-16"]
    clean = validate_batches(con, SuiteRunner(tmp_path), suite, days, one_day)
    assert seen == [] and all(o.success for o in clean.values())
    assert [(day, o.batch, o.rows) for day, o in clean.items()] == [(d, d, n) for d, n in zip(days, [2, 1, 1])]
    assert len({o.page for o in clean.values()}) == 1 and "2026-03-14_to_2026-03-16" in str(clean[days[0]].page)
    # A second first copy of e1 on the middle day: the union fails, so each day is validated alone, and only the
    # middle day fails (e1's first copy on another day is no fault of a day's own batch).
    con.execute("""insert into raw.email values ('e3', '{}'::json, false, 'g', 2, date '2026-03-15'),
                   ('e1', '{}'::json, false, 'g', 3, date '2026-03-15')""")
    dirty = validate_batches(con, SuiteRunner(tmp_path), suite, days, one_day)
    assert seen == days
    assert [day for day, o in dirty.items() if not o.success] == ["2026-03-15"]
    assert [f.examples for f in dirty["2026-03-15"].failures] == [["e3", "e3"]]


def test_a_month_of_days_validated_together_renders_its_page(con, tmp_path, caplog):
    # GX's renderer parses the run name as a time; "2026-03-01..2026-03-29" read as one with a -29 h offset and the
    # page failed to render (an error in the log, a page missing its title).
    con.execute("""create table raw.email as
        select 'e' || i as _event_id, '{}'::json as record, false as _is_duplicate, 'f' as _file, 1 as _line,
               date '2026-03-01' + to_days(cast(i as integer)) as _delivery_date
        from range(29) t(i)""")
    days = [f"2026-03-{day:02d}" for day in range(1, 30)]
    runner = SuiteRunner(tmp_path)
    outcomes = validate_batches(con, runner, raw_suites(["email"])["email"], days)
    (page,) = {outcome.page for outcome in outcomes.values()}
    with caplog.at_level(logging.ERROR, logger="great_expectations"):
        runner.render_pages()
    assert [r.getMessage()[:80] for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "Validations / raw.email" in page.read_text() and "2026-03-01_to_2026-03-29" in page.read_text()


def test_a_suite_registered_once_still_checks_each_batch_against_its_own_day_and_each_gets_its_page(con, tmp_path):
    con.execute("""create table raw.email as select * from (values
        ('e1', '{}'::json, false, 'f', 1, date '2026-03-14'), ('e2', '{}'::json, false, 'f', 2, date '2026-03-14'))
        t(_event_id, record, _is_duplicate, _file, _line, _delivery_date)""")
    suite = raw_suites(["email"])["email"]
    frame = con.execute(suite.batch_sql(), ["2026-03-14"]).df()
    runner = SuiteRunner(tmp_path)
    right = runner.validate(
        suite.table, "2026-03-14", frame, suite.expectations("2026-03-14"), suite.parameters("2026-03-14")
    )
    # The same rows handed over as the next day's batch: the delivery-day expectation names the day they hold.
    wrong = runner.validate(
        suite.table, "2026-03-15", frame, suite.expectations("2026-03-15"), suite.parameters("2026-03-15")
    )
    assert right.success
    assert [(f.expectation, f.examples) for f in wrong.failures] == [
        ("expect_column_values_to_be_in_set", ["2026-03-14", "2026-03-14"])
    ]
    assert right.page != wrong.page and "2026-03-15" in str(wrong.page)
    assert not right.page.exists()
    runner.render_pages()
    assert right.page.exists() and wrong.page.exists()
    # A runner in another step (sharing the process's GX context) builds the index: it lists both pages.
    other = SuiteRunner(tmp_path)
    index = other.build_docs().read_text()
    for outcome in (right, wrong):
        assert outcome.page.relative_to(tmp_path).as_posix() in index


def test_the_world_has_a_data_docs_page_for_every_validation_and_an_index_listing_them(world):
    docs = world.root / "data_docs"
    index = (docs / "index.html").read_text()
    pages = sorted(docs.glob("validations/**/*.html"))
    layers = {p.relative_to(docs / "validations").parts[0] for p in pages}
    assert layers == {"raw", "staging", "marts"}
    # The index is rebuilt once per transform run: it lists every page rendered before it (a delivery day
    # ingested again since, by another test, is listed from the next transform on).
    indexed_at = (docs / "index.html").stat().st_mtime
    unlisted = [p for p in pages if p.stat().st_mtime <= indexed_at and p.relative_to(docs).as_posix() not in index]
    assert unlisted == []
    # Every raw table was validated on every delivery day it was loaded: the days one step loaded are validated
    # together, on a page named after the range (`validations/raw/<table>/<first>_to_<last>/`), or a day alone.
    covered = set()
    for page in pages:
        layer, table, batch = page.relative_to(docs / "validations").parts[:3]
        if layer == "raw":
            first, _, last = batch.partition("_to_")
            days = world.query(
                "select _delivery_date::varchar from raw.ingest_log where table_name = ? "
                "and _delivery_date between ?::date and ?::date",
                [table, first, last or first],
            )
            covered |= {(table, day) for (day,) in days}
    loaded = set(world.query("select table_name, _delivery_date::varchar from raw.ingest_log"))
    assert loaded and loaded <= covered


def test_mart_suite_rejects_an_unknown_status_and_negative_difference(con, tmp_path):
    con.execute("""create table marts.agg_sync_accuracy as select * from (values
        ('email', date '2026-03-14', 'count', 'open', 10.0, 'ok', 0.0, 1.0),
        ('email', date '2026-03-15', 'count', 'open', 10.0, 'fine', -1.0, 0.0))
        t(source, event_date, metric_kind, metric, control_value, status, abs_difference, erased_value)""")
    outcome = validate_batch(con, SuiteRunner(tmp_path), MART_SUITES["agg_sync_accuracy"], "all")
    assert {f.expectation for f in outcome.failures} == {
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
    }


def test_mart_suite_takes_a_negative_erased_amount_but_not_a_negative_erased_count(con, tmp_path):
    # Erasing a person whose only order of the day was a refund erases a negative amount: right data. A negative
    # erased count is not.
    con.execute("""create table marts.agg_sync_accuracy as select * from (values
        ('pos', date '2026-03-14', 'sum', 'total', -202.0, 'ok', 0.0, -202.0),
        ('pos', date '2026-03-14', 'count', 'sale', 3.0, 'ok', 0.0, 1.0))
        t(source, event_date, metric_kind, metric, control_value, status, abs_difference, erased_value)""")
    assert validate_batch(con, SuiteRunner(tmp_path), MART_SUITES["agg_sync_accuracy"], "all").success
    con.execute("update marts.agg_sync_accuracy set erased_value = -1 where metric_kind = 'count'")
    outcome = validate_batch(con, SuiteRunner(tmp_path), MART_SUITES["agg_sync_accuracy"], "all")
    assert [(f.expectation, f.column) for f in outcome.failures] == [
        ("expect_column_values_to_be_between", "count_erased_value")
    ]


@pytest.fixture
def world_marts(con, world):
    """The test world's identity marts, copied into the scratch connection so a test can break them."""
    con.execute(f"attach '{world.warehouse}' as world (read_only)")
    con.execute("create table marts.customer_identifier as select * from world.marts.customer_identifier")
    con.execute("create table marts.dim_customer as select * from world.marts.dim_customer")
    con.execute("detach world")
    return con


@pytest.mark.parametrize("mart", ["customer_identifier", "dim_customer"])
def test_identity_mart_suites_pass_on_the_test_world(world_marts, tmp_path, mart):
    outcome = validate_batch(world_marts, SuiteRunner(tmp_path), MART_SUITES[mart], "all")
    assert outcome.rows > 100 and outcome.evaluated >= 14
    assert outcome.success, [f.describe() for f in outcome.failures]


def test_dim_customer_suite_fails_on_a_duplicated_customer_and_a_made_up_email_status(world_marts, tmp_path):
    con = world_marts
    (duplicated,) = con.execute("select customer_id from marts.dim_customer order by customer_id limit 1").fetchall()[0]
    con.execute("insert into marts.dim_customer select * from marts.dim_customer where customer_id = ?", [duplicated])
    con.execute("""update marts.dim_customer set email_status = 'probably_fine', first_seen_at = last_seen_at + interval 1 day
                   where customer_id = (select max(customer_id) from marts.dim_customer where primary_email is not null)""")
    outcome = validate_batch(con, SuiteRunner(tmp_path), MART_SUITES["dim_customer"], "all")
    failed = {(f.expectation, f.column): f for f in outcome.failures}
    assert set(failed) == {
        ("expect_column_values_to_be_unique", "customer_id"),
        ("expect_column_values_to_be_in_set", "email_status"),
        ("expect_column_pair_values_a_to_be_greater_than_b", None),
    }
    assert failed["expect_column_values_to_be_unique", "customer_id"].examples == [duplicated, duplicated]
    assert failed["expect_column_values_to_be_in_set", "email_status"].examples == ["probably_fine"]


def test_customer_identifier_suite_names_a_second_owner_an_unknown_type_and_a_backwards_period(world_marts, tmp_path):
    con = world_marts
    # The same email given to a second customer in the same period, an identifier type nobody defined,
    # a cookie with an ownership period, and a recycled phone period that ends before it starts.
    con.execute("""insert into marts.customer_identifier
        select 'cus_00000000000000000000', identifier_type, identifier_value, first_seen_at, last_seen_at, sources,
            is_shared, ownership_period, valid_from, valid_to
        from marts.customer_identifier where identifier_type = 'email' order by identifier_value limit 1""")
    con.execute("""update marts.customer_identifier set identifier_type = 'fax' where identifier_type = 'device'
        and identifier_value = (select min(identifier_value) from marts.customer_identifier where identifier_type = 'device')""")
    con.execute("""update marts.customer_identifier set ownership_period = 2 where identifier_type = 'cookie'
        and identifier_value = (select min(identifier_value) from marts.customer_identifier where identifier_type = 'cookie')""")
    assert (
        con.execute("""update marts.customer_identifier set valid_to = valid_from - interval 1 day
        where identifier_type = 'phone' and ownership_period > 1 and valid_to is null""").fetchall()[0][0]
        > 0
    )
    outcome = validate_batch(con, SuiteRunner(tmp_path), MART_SUITES["customer_identifier"], "all")
    failed = {(f.expectation, f.column): f for f in outcome.failures}
    assert set(failed) == {
        ("expect_compound_columns_to_be_unique", None),
        ("expect_column_values_to_be_in_set", "identifier_type"),
        ("expect_column_values_to_be_null", "non_phone_with_period"),
        ("expect_column_values_to_be_null", "later_period_without_start"),  # that cookie again
        ("expect_column_pair_values_a_to_be_greater_than_b", None),
    }
    assert failed["expect_column_values_to_be_in_set", "identifier_type"].examples == ["fax"]
    assert failed["expect_compound_columns_to_be_unique", None].unexpected_count == 2
    cookie = failed["expect_column_values_to_be_null", "non_phone_with_period"].examples
    assert (
        len(cookie) == 1 and failed["expect_column_values_to_be_null", "later_period_without_start"].examples == cookie
    )


def test_conversion_suite_rejects_revenue_above_what_was_paid_and_an_unknown_channel(con, tmp_path):
    con.execute("""create table marts.fct_conversion as
        select * replace (revenue::decimal(18, 2) as revenue, gross_revenue::decimal(18, 2) as gross_revenue,
                          refunded_revenue::decimal(18, 2) as refunded_revenue)
        from (values
            ('c1', timestamp '2026-03-14 10:00', 'web', 'USD', 30.00, 40.00, 10.00),
            ('c2', timestamp '2026-03-14 11:00', 'kiosk', 'USD', 50.00, 40.00, -10.00),
            ('c3', timestamp '2026-03-13 11:00', 'teleport', 'usd', -1.00, 0.00, 0.00))
        t(conversion_id, converted_at, purchase_channel, currency, revenue, gross_revenue, refunded_revenue)""")
    outcome = validate_batch(con, SuiteRunner(tmp_path), MART_SUITES["fct_conversion"], "2026-03-14")
    failed = {f.expectation: f for f in outcome.failures}
    assert failed["expect_column_values_to_be_in_set"].examples == ["kiosk"]  # the batch is the day of c1 and c2
    assert set(failed) == {
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_pair_values_a_to_be_greater_than_b",
    }


def test_agreement_suite_passes_on_the_test_world_and_names_a_misflagged_row_and_an_impossible_share(
    con, world, tmp_path
):
    con.execute(f"attach '{world.warehouse}' as world (read_only)")
    con.execute("create table marts.agg_cross_system_agreement as select * from world.marts.agg_cross_system_agreement")
    con.execute("detach world")
    suite = MART_SUITES["agg_cross_system_agreement"]
    outcome = validate_batch(con, SuiteRunner(tmp_path), suite, "all")
    assert outcome.rows > 10 and outcome.success, [f.describe() for f in outcome.failures]
    # A watched metric flagged as an error (only what matters may block), and more sends off than were sent.
    con.execute("""update marts.agg_cross_system_agreement set status = 'error'
                   where metric = 'esp_address_stale' and event_date = (select min(event_date) from marts.agg_cross_system_agreement)""")
    con.execute("""update marts.agg_cross_system_agreement set numerator = denominator + 1, rate = 1.5
                   where metric = 'esp_address_unknown_to_crm' and event_date = (select max(event_date)
                       from marts.agg_cross_system_agreement where metric = 'esp_address_unknown_to_crm')""")
    outcome = validate_batch(con, SuiteRunner(tmp_path), suite, "all")
    failed = {(f.expectation, f.column): f for f in outcome.failures}
    assert set(failed) == {
        ("expect_column_values_to_be_null", "flag_not_its_severity"),
        ("expect_column_pair_values_a_to_be_greater_than_b", None),
        ("expect_column_values_to_be_between", "rate"),
    }
    (flag,) = failed["expect_column_values_to_be_null", "flag_not_its_severity"].examples
    assert flag.startswith("email ") and flag.endswith(" esp_address_stale")
