"""Customer lifetime value: the published CDNOW estimates, degenerate histories, the back-test, the marts.

The CDNOW fixture (tests/fixtures/cdnow_sample_transactions.csv) is the 2,357-customer cohort of Fader, Hardie and
Lee (2005): every purchase of the customers who first bought from CDNOW in the first quarter of 1997, as the
lifetimes package ships it (CDNOW_sample.txt: customer, day, CDs, dollars), public research data.
"""

import json
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from data_quality.gx_runner import SuiteRunner
from data_quality.suites.marts import metrics_suites
from data_quality.validate import validate_batch
from orchestration.channels import registry
from orchestration.metrics import clv

CDNOW = Path(__file__).parent / "fixtures" / "cdnow_sample_transactions.csv"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The 39-week calibration summary in weeks, from the raw purchases the way the warehouse builds it: purchases
    summed per customer and day, x repeat days, t_x and T from the first day, the repeat days' mean spend."""
    with duckdb.connect() as con:
        return con.execute(f"""
            with days as (
                select customer_id, order_date, sum(value) as value
                from read_csv('{CDNOW}', columns = {{'customer_id': 'integer', 'order_date': 'date', 'cds': 'integer',
                                                      'value': 'double'}}, header = true)
                where order_date <= date '1997-09-30'
                group by customer_id, order_date
            ),
            numbered as (
                select *, row_number() over (partition by customer_id order by order_date) as day_number from days
            )
            select
                cast(customer_id as varchar) as customer_id,
                count(*) - 1 as repeat_purchases,
                date_diff('day', min(order_date), max(order_date)) / 7.0 as days_first_to_last,
                date_diff('day', min(order_date), date '1997-09-30') / 7.0 as tenure_days,
                avg(case when day_number > 1 then value end) as repeat_average_revenue
            from numbered
            group by customer_id
            order by customer_id
        """).df()


@pytest.fixture(scope="module")
def cdnow_models(cdnow):
    return clv.fit_lifetime_models(clv.model_data(cdnow), min_repeat_customers=20)


def test_cdnow_fixture_is_the_published_cohort(cdnow):
    assert len(cdnow) == 2357
    assert int((cdnow["repeat_purchases"] > 0).sum()) == 946  # the Gamma-Gamma sample of the paper


def test_bgnbd_reproduces_the_published_maximum_likelihood_estimates_on_cdnow(cdnow_models):
    # Fader, Hardie and Lee (2005), "Counting your customers the easy way", Marketing Science 24(2): 275-284.
    assert cdnow_models.purchase_problem is None
    fitted = {name: round(value, 3) for name, value in cdnow_models.purchase_parameters.items()}
    assert fitted == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_gamma_gamma_reproduces_the_published_maximum_likelihood_estimates_on_cdnow(cdnow_models):
    # Fader, Hardie and Lee (2005), "RFM and CLV: using iso-value curves", JMR 42(4); Fader and Hardie (2013).
    assert cdnow_models.spend_problem is None
    fitted = {name: round(value, 2) for name, value in cdnow_models.spend_parameters.items()}
    assert fitted == {"p": 6.25, "q": 3.74, "v": 15.44}


def test_compiled_and_fast_compile_modes_give_the_same_estimates(cdnow, cdnow_models, monkeypatch):
    # CDNOW's 1,016 distinct histories and 946 spenders fit in FAST_COMPILE; with the threshold lowered the same fit
    # runs compiled (FAST_RUN), as one of COMPILED_MIN_ROWS rows or more does.
    import pytensor
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    assert cdnow_models.pytensor_modes == {"purchase": "FAST_COMPILE", "spend": "FAST_COMPILE"}
    seen = []
    for model_class in (BetaGeoModel, GammaGammaModel):
        fit = model_class.fit

        def spy(self, *args, _fit=fit, **kwargs):
            seen.append((type(self).__name__, pytensor.config.mode))
            return _fit(self, *args, **kwargs)

        monkeypatch.setattr(model_class, "fit", spy)
    monkeypatch.setattr(clv, "COMPILED_MIN_ROWS", 100)
    compiled = clv.fit_lifetime_models(clv.model_data(cdnow), min_repeat_customers=20)
    assert seen == [("GroupedBetaGeoModel", "FAST_RUN"), ("SharedDataGammaGammaModel", "FAST_RUN")]
    assert compiled.pytensor_modes == {"purchase": "FAST_RUN", "spend": "FAST_RUN"}
    for name, value in {**cdnow_models.purchase_parameters, **cdnow_models.spend_parameters}.items():
        fitted = {**compiled.purchase_parameters, **compiled.spend_parameters}[name]
        assert fitted == pytest.approx(value, rel=1e-6), name


def _per_customer_bgnbd(data: pd.DataFrame):
    """pymc-marketing's own BetaGeoModel on one row per customer, with the pipeline's priors and start."""
    from pymc_marketing.clv import BetaGeoModel

    with clv._quiet():
        model = BetaGeoModel(
            data=data[["customer_id", "frequency", "recency", "T"]], model_config=clv.purchase_priors()
        )
        model.fit(method="map", progressbar=False, start=dict(clv.PURCHASE_START))
    return model


@pytest.mark.parametrize("history", ["cdnow", "bgnbd world in days"])
def test_the_fit_on_grouped_histories_is_the_fit_on_every_customer(history, cdnow):
    if history == "cdnow":
        data = clv.model_data(cdnow)
    else:
        days = _bgnbd_world(customers=4000, days=60, seed=11)
        data = clv.model_data(_backtest_frame(days, calibration_end=59, last_day=59))
    grouped = clv.fit_lifetime_models(data, min_repeat_customers=20)
    assert grouped.purchase_histories == len(data[["frequency", "recency", "T"]].drop_duplicates()) < len(data)
    assert grouped.purchase.data["customers"].sum() == len(data)
    every = _per_customer_bgnbd(data)
    for name, value in clv._point(every, clv.PURCHASE_PARAMETERS).items():
        assert grouped.purchase_parameters[name] == pytest.approx(value, rel=1e-6), name
    columns = data[["customer_id", "frequency", "recency", "T"]]
    for method, kwargs in (("expected_purchases", {"future_t": 30}), ("expected_probability_alive", {})):
        ours = getattr(grouped.purchase, method)(columns, **kwargs).mean(dim=["chain", "draw"])
        theirs = getattr(every, method)(columns, **kwargs).mean(dim=["chain", "draw"])
        ids = columns["customer_id"].to_numpy()
        np.testing.assert_allclose(ours.sel(customer_id=ids), theirs.sel(customer_id=ids), rtol=1e-6)


def test_gamma_gamma_on_shared_data_is_pymc_marketings_own_fit(cdnow, cdnow_models):
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import GammaGammaModel

    data = clv.model_data(cdnow)
    spenders = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
    with clv._quiet():
        theirs = GammaGammaModel(
            data=spenders[["customer_id", "frequency", "monetary_value"]],
            model_config={name: Prior("HalfFlat") for name in clv.SPEND_PARAMETERS},
        )
        theirs.fit(method="map", progressbar=False)
    for name, value in clv._point(theirs, clv.SPEND_PARAMETERS).items():
        assert cdnow_models.spend_parameters[name] == pytest.approx(value, rel=1e-6), name
    columns = data[["customer_id", "frequency", "monetary_value"]]
    ours = cdnow_models.spend.expected_customer_spend(columns).mean(dim=["chain", "draw"])
    np.testing.assert_allclose(ours, theirs.expected_customer_spend(columns).mean(dim=["chain", "draw"]), rtol=1e-6)


def test_bgnbd_conditional_expectation_matches_the_paper_for_its_example_customer(cdnow_models):
    # The paper's worked example: x = 2, t_x = 30.43, T = 38.86 weeks expects 1.226 purchases in the next 39 weeks.
    example = pd.DataFrame(
        {"customer_id": ["example"], "frequency": [2.0], "recency": [30.43], "T": [38.86], "monetary_value": [0.0]}
    )
    predicted = clv.predict(cdnow_models, example, horizon=39.0)
    assert round(float(predicted["predicted_purchases"].iloc[0]), 3) == 1.226


def test_cdnow_predictions_are_complete_and_sane(cdnow, cdnow_models):
    data = clv.model_data(cdnow)
    predicted = clv.predict(cdnow_models, data, horizon=52.0)
    assert (predicted["prediction_status"] == clv.PREDICTED).all()
    assert predicted["probability_alive"].between(0, 1).all()
    # One purchase day only: alive by the model's assumption; a long silence after repeat purchases lowers it.
    assert (predicted.loc[data["frequency"] == 0, "probability_alive"] == 1).all()
    assert predicted.loc[data["frequency"] > 0, "probability_alive"].min() < 0.2
    # Gamma-Gamma shrinks a customer's mean towards the population's p v / (q - 1).
    p, q, v = (cdnow_models.spend_parameters[k] for k in ("p", "q", "v"))
    first_timers = predicted.loc[data["frequency"] == 0, "predicted_average_value"]
    assert np.allclose(first_timers, p * v / (q - 1))
    assert np.allclose(
        predicted["predicted_value"], predicted["predicted_purchases"] * predicted["predicted_average_value"]
    )


def _summary(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["customer_id", "repeat_purchases", "days_first_to_last", "tenure_days", "repeat_average_revenue"]
    )


def test_too_few_repeat_customers_give_null_predictions_with_the_reason():
    summary = _summary([(f"c{i}", 1 if i < 3 else 0, 2 if i < 3 else 0, 5, 10.0 if i < 3 else None) for i in range(40)])
    out = clv.predict_lifetime_value(summary, horizon_days=365.25, min_repeat_customers=20)
    assert len(out) == 40 and set(out["prediction_status"]) == {clv.TOO_FEW_REPEAT_CUSTOMERS}
    assert out[list(clv.PREDICTION_COLUMNS)].isna().all().all()
    assert "3 of 40 customers bought more than once, 20 needed" in out["prediction_note"].iloc[0]


def test_no_purchases_at_all_give_an_empty_typed_table():
    out = clv.predict_lifetime_value(_summary([]), horizon_days=365.25, min_repeat_customers=20)
    assert out.empty
    assert {"customer_id", *clv.PREDICTION_COLUMNS, "prediction_status", "prediction_note"} <= set(out.columns)


def test_a_failing_fit_is_reported_not_raised(monkeypatch, cdnow):
    def explode(_):
        raise FloatingPointError("the optimiser diverged")

    monkeypatch.setattr(clv, "fit_purchase_model", explode)
    out = clv.predict_lifetime_value(cdnow, horizon_days=52.0, min_repeat_customers=20)
    assert set(out["prediction_status"]) == {clv.PURCHASE_MODEL_FAILED}
    assert out["predicted_purchases"].isna().all()
    assert "the optimiser diverged" in out["prediction_note"].iloc[0]


def test_repeat_purchases_that_were_all_refunded_leave_purchases_predicted_and_value_unknown(cdnow):
    refunded = cdnow.assign(repeat_average_revenue=np.where(cdnow["repeat_purchases"] > 0, 0.0, np.nan))
    out = clv.predict_lifetime_value(refunded, horizon_days=52.0, min_repeat_customers=20)
    assert set(out["prediction_status"]) == {clv.SPEND_MODEL_UNAVAILABLE}
    assert out["predicted_purchases"].notna().all() and out["probability_alive"].notna().all()
    assert out["predicted_value"].isna().all()
    assert "0 repeat customers with a positive spend" in out["prediction_note"].iloc[0]


def _bgnbd_world(customers: int, days: int, seed: int, homogeneous: bool = False) -> pd.DataFrame:
    """Purchase days drawn from BG/NBD itself (Gamma purchase rates, Beta dropout after each purchase day), every
    customer's first purchase on a uniform day of the first half: a world where the model is right. Homogeneous:
    one purchase rate for all and nobody drops out, the model's limit (the simulator's short worlds look so)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(shape=0.8, scale=1 / 12.0, size=customers)  # r = 0.8, alpha = 12 days
    dropout = rng.beta(1.0, 6.0, size=customers)
    if homogeneous:
        rate, dropout = np.full(customers, 0.03), np.zeros(customers)
    first = rng.integers(0, days // 2, size=customers)
    alive = np.ones(customers, dtype=bool)
    bought = np.zeros((customers, days), dtype=bool)
    bought[np.arange(customers), first] = True
    for day in range(days):  # one vectorised step per day across all customers
        started = day > first
        purchase = started & alive & (rng.random(customers) < 1 - np.exp(-rate))
        bought[:, day] |= purchase
        alive &= ~(purchase & (rng.random(customers) < dropout))
    person, day = np.nonzero(bought)
    return pd.DataFrame(
        {"customer_id": [f"c{p}" for p in person], "purchase_date": day, "revenue": rng.gamma(4.0, 10.0, len(day))}
    )


def _backtest_frame(days: pd.DataFrame, calibration_end: int, last_day: int) -> pd.DataFrame:
    """What int_clv_backtest_summary holds, built with pandas from a day-numbered purchase table."""
    calibration = days[days["purchase_date"] <= calibration_end].sort_values(["customer_id", "purchase_date"])
    calibration = calibration.assign(n=calibration.groupby("customer_id").cumcount())
    summary = calibration.groupby("customer_id").agg(
        first=("purchase_date", "min"), last=("purchase_date", "max"), purchase_days=("purchase_date", "size")
    )
    repeat_spend = calibration[calibration["n"] > 0].groupby("customer_id")["revenue"].mean()
    holdout = days[days["purchase_date"] > calibration_end].groupby("customer_id").size()
    return pd.DataFrame(
        {
            "customer_id": summary.index,
            "repeat_purchases": summary["purchase_days"] - 1,
            "days_first_to_last": summary["last"] - summary["first"],
            "tenure_days": calibration_end - summary["first"],
            "repeat_average_revenue": repeat_spend.reindex(summary.index).to_numpy(),
            "calibration_end": pd.Timestamp("2026-03-01") + pd.to_timedelta(calibration_end, unit="D"),
            "holdout_days": last_day - calibration_end,
            "holdout_purchase_days": holdout.reindex(summary.index, fill_value=0).to_numpy(),
            "tolerated_total_error": 0.25,
            "frequency_cap": 5,
        }
    ).reset_index(drop=True)


def test_backtest_on_a_bgnbd_world_predicts_the_holdout_and_tabulates_by_frequency():
    days = _bgnbd_world(customers=3000, days=120, seed=11)
    frame = _backtest_frame(days, calibration_end=79, last_day=119)
    predictions = clv.backtest_predictions(frame, min_repeat_customers=20)
    report = clv.backtest_report(predictions, frequency_cap=5)
    assert report.status == clv.PREDICTED and report.predicted_customers == report.customers == len(frame)
    assert report.actual_total == int(frame["holdout_purchase_days"].sum())
    assert report.relative_total_error < 0.1, report
    assert [row["calibration_repeat_purchases"] for row in report.by_frequency][:2] == ["0", "1"]
    assert report.by_frequency[-1]["calibration_repeat_purchases"] == "5+"
    assert sum(row["customers"] for row in report.by_frequency) == report.customers
    # The model's point: frequent buyers in calibration buy more in the holdout, and it knows by how much.
    means = [row["mean_actual"] for row in report.by_frequency]
    assert means[-1] > 3 * means[0]
    for row in report.by_frequency:
        assert abs(row["mean_predicted"] - row["mean_actual"]) < 0.35 * max(row["mean_actual"], 0.5), row
    assert set(predictions["tolerated_total_error"]) == {0.25}
    fit = json.loads(predictions["model_fit"].iloc[0])
    assert fit["purchase_problem"] is None and set(fit["purchase_parameters"]) == {"r", "alpha", "a", "b"}


def test_a_short_homogeneous_history_fits_at_the_shape_bound_and_still_forecasts():
    # Unbounded, r and alpha ran to ~1e5 and ~4e6 on such a world and every forecast was NaN (scipy's hyp2f1).
    days = _bgnbd_world(customers=2000, days=30, seed=5, homogeneous=True)
    predictions = clv.backtest_predictions(
        _backtest_frame(days, calibration_end=14, last_day=29), min_repeat_customers=20
    )
    report = clv.backtest_report(predictions, frequency_cap=5)
    assert report.status == clv.PREDICTED and report.predicted_customers == report.customers
    assert report.relative_total_error < 0.15, report
    fitted = json.loads(predictions["model_fit"].iloc[0])["purchase_parameters"]
    assert max(fitted["r"], fitted["b"]) <= clv.SHAPE_BOUND


def test_backtest_report_measures_error_against_hand_counted_rows():
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "calibration_repeat_purchases": [0, 0, 2, 7],
            "predicted_holdout_purchases": [0.5, 0.25, 2.0, np.nan],
            "actual_holdout_purchases": [0, 1, 3, 4],
            "prediction_status": ["predicted", "predicted", "predicted", "not_finite"],
        }
    )
    report = clv.backtest_report(rows, frequency_cap=2)
    assert report.customers == 4 and report.predicted_customers == 3
    assert report.mae == pytest.approx((0.5 + 0.75 + 1.0) / 3)
    assert report.predicted_total == pytest.approx(2.75) and report.actual_total == 4
    assert report.relative_total_error == pytest.approx(1.25 / 4)
    assert report.by_frequency == [
        {
            "calibration_repeat_purchases": "0",
            "customers": 2,
            "mean_predicted": 0.375,
            "mean_actual": 0.5,
            "predicted_total": 0.75,
            "actual_total": 1,
        },
        {
            "calibration_repeat_purchases": "2+",
            "customers": 1,
            "mean_predicted": 2.0,
            "mean_actual": 3.0,
            "predicted_total": 2.0,
            "actual_total": 3,
        },
    ]


# ---- the marts on the test world ----------------------------------------------------------------------------


def test_every_purchasing_customer_has_one_lifetime_value_row(world):
    (purchasers,) = world.query(
        "select count(distinct customer_id) from marts.fct_conversion "
        "where customer_id is not null and not is_cancelled"
    )[0]
    rows, distinct, revenue = world.query(
        "select count(*), count(distinct customer_id), sum(historical_revenue) from marts.customer_lifetime_value"
    )[0]
    assert rows == distinct == purchasers > 0
    (net,) = world.query(
        "select sum(revenue) from marts.fct_conversion where customer_id is not null and not is_cancelled"
    )[0]
    assert revenue == net
    statuses = {s for (s,) in world.query("select distinct prediction_status from marts.customer_lifetime_value")}
    assert statuses <= set(clv.STATUSES)


def test_channel_value_splits_every_customer_whole_under_every_model(world):
    (customers,) = world.query("select count(*) from marts.customer_lifetime_value")[0]
    per_model = world.query(
        "select model, sum(customer_weight), sum(historical_revenue) "
        "from marts.agg_channel_lifetime_value group by model order by model"
    )
    (revenue,) = world.query("select sum(historical_revenue) from marts.customer_lifetime_value")[0]
    assert {m for m, _, _ in per_model} == {
        "acquisition",
        "first_touch",
        "last_touch",
        "linear",
        "time_decay",
        "position_based",
        "markov",
        "shapley",
    }
    for model, weight, split_revenue in per_model:
        assert weight == pytest.approx(customers), model
        assert float(split_revenue) == pytest.approx(float(revenue), abs=0.01 * 8), model


@pytest.mark.parametrize("mart", ["customer_lifetime_value", "agg_channel_lifetime_value"])
def test_lifetime_value_suites_pass_on_the_test_world_and_fail_on_a_broken_row(world, tmp_path, mart):
    suite = metrics_suites(registry().touchpoint_channels())[mart]
    with duckdb.connect() as con:
        con.execute("create schema marts")
        con.execute(f"attach '{world.warehouse}' as world (read_only)")
        for table in ("customer_lifetime_value", "agg_channel_lifetime_value"):
            con.execute(f"create table marts.{table} as select * from world.marts.{table}")
        con.execute("detach world")
        outcome = validate_batch(con, SuiteRunner(tmp_path), suite, "all")
        assert outcome.rows > 0 and outcome.success, [f.describe() for f in outcome.failures]
        if mart == "customer_lifetime_value":
            con.execute(
                "update marts.customer_lifetime_value set recency_days = tenure_days + 1, rfm_segment = null "
                "where customer_id = (select min(customer_id) from marts.customer_lifetime_value)"
            )
            expected = {
                (None, "expect_column_pair_values_a_to_be_greater_than_b"),
                ("rfm_segment", "expect_column_values_to_not_be_null"),
            }
        else:
            con.execute(
                "update marts.agg_channel_lifetime_value set customer_weight = customer_weight + 1 "
                "where model = 'linear' and channel = (select min(channel) "
                "from marts.agg_channel_lifetime_value where model = 'linear')"
            )
            expected = {("model_not_summing_to_customers", "expect_column_values_to_be_null")}
        broken = validate_batch(con, SuiteRunner(tmp_path), suite, "all")
    assert {(f.column, f.expectation) for f in broken.failures} == expected, [f.describe() for f in broken.failures]


def test_backtest_check_reports_metadata_on_the_test_world(world, tmp_path):
    from orchestration.defs.metrics import clv_backtest
    from orchestration.defs.resources import Warehouse

    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(world.warehouse.read_bytes())
    result = clv_backtest(warehouse=Warehouse(path=str(copy)))
    assert isinstance(result, dg.AssetCheckResult)
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert {"customers", "calibration_end", "holdout_days", "actual_holdout_purchases", "model_fit"} <= set(
        result.metadata
    )
    if "mae" in result.metadata:
        assert {"predicted_holdout_purchases", "by_calibration_frequency"} <= set(result.metadata)
    else:
        assert result.passed and result.description.startswith("not back-tested")
