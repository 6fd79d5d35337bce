"""Customer lifetime value: BG/NBD purchase forecasts and Gamma-Gamma spend, fitted by maximum likelihood.

The models are pymc-marketing's `BetaGeoModel` (Fader, Hardie and Lee 2005, "Counting your customers the easy
way") and `GammaGammaModel` (Fader, Hardie and Lee 2005, "RFM and CLV: using iso-value curves"; Fader and Hardie
2013). Both are fitted with `fit(method="map")` under flat (`HalfFlat`) priors: pymc's `find_MAP` maximises the
log-density without the Jacobian of the log transform, so with flat priors the MAP point is the maximum-likelihood
estimate the papers publish (tests/test_clv.py reproduces them on the CDNOW cohort). BG/NBD's shape parameters
are kept below SHAPE_BOUND (flat on an interval, so still maximum likelihood inside it). No sampling: MCMC took
minutes on a few thousand customers, the point estimate a few seconds.

Input is one row per customer in any time unit (the pipeline uses days): `frequency` (repeat purchases, x),
`recency` (first to last purchase, t_x), `T` (first purchase to the end of the history) and `monetary_value`
(mean value of the repeat purchases, 0 without one). Fits that cannot be trusted give NULL predictions with a
reason in `prediction_status` instead of numbers nobody should act on.

BG/NBD is fitted on the distinct (x, t_x, T) histories, each weighted by its number of customers
(clv_models.GroupedBetaGeoModel): the same maximum, at the cost of the distinct histories, which in days are
few. pymc-marketing is imported inside the functions: it takes seconds to import, and nothing happens at import
time. Fits on fewer than COMPILED_MIN_ROWS rows run pytensor in FAST_COMPILE mode (see there).
"""

from __future__ import annotations

import json
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

PURCHASE_PARAMETERS = ("r", "alpha", "a", "b")
# BG/NBD's shapes r, a and b are fitted on (0, SHAPE_BOUND). A short history shows no spread in purchase rates or
# dropout, and the likelihood then keeps rising towards the homogeneous limit (r and alpha, or b, to infinity with
# their ratio fixed), where scipy's hyp2f1 in the purchase forecast returns NaN (r ~ 1e5 did). At the bound the
# fit is that limit to a fraction of a percent (Gamma shape 1000: rates within 3% of each other) and the forecast is
# finite; fits with an interior optimum (CDNOW's) are untouched.
SHAPE_BOUND = 1000.0
# Where BG/NBD's fit starts: the middle of (0, SHAPE_BOUND) is no place to, its likelihood can underflow there.
PURCHASE_START = {name: 1.0 for name in PURCHASE_PARAMETERS}
SPEND_PARAMETERS = ("p", "q", "v")
DAYS_PER_MONTH = 365.25 / 12

# pytensor's default mode (FAST_RUN) compiles C code for each model function. The models here give it their data as
# shared inputs (clv_models), so the code is the same for every history and pytensor's on-disk cache (~/.pytensor,
# shared by the user's processes) serves it from the second fit on. FAST_COMPILE (few graph rewrites, nothing for
# g++) evaluates elementwise operations per element in Python, so its cost grows with the rows. Measured on this
# 2-core machine, Gamma-Gamma on 14,749 customers: FAST_COMPILE 5.7-12.1 s; FAST_RUN 10.9 s with a cold cache and
# 3.1 s warm (0.6 s for a second fit in the same process). Below this many rows FAST_COMPILE costs a few seconds
# and nothing to compile (small worlds and tests never pay the cold compile); above it the compiled code pays.
COMPILED_MIN_ROWS = 10_000

PREDICTED = "predicted"
TOO_FEW_REPEAT_CUSTOMERS = "too_few_repeat_customers"  # nothing predicted: the purchase model was not fitted
PURCHASE_MODEL_FAILED = "purchase_model_failed"  # nothing predicted: the fit gave no usable parameters
SPEND_MODEL_UNAVAILABLE = "spend_model_unavailable"  # purchases and P(alive) predicted, value not
NOT_FINITE = "not_finite"  # the formulas overflowed for this customer
NO_HOLDOUT = "no_holdout_period"  # back-test only: the history ends at the calibration date
STATUSES = (PREDICTED, TOO_FEW_REPEAT_CUSTOMERS, PURCHASE_MODEL_FAILED, SPEND_MODEL_UNAVAILABLE, NOT_FINITE, NO_HOLDOUT)

PREDICTION_COLUMNS = ("predicted_purchases", "probability_alive", "predicted_average_value", "predicted_value")


@dataclass
class LifetimeModels:
    """The fitted models, or why one is missing; parameters as plain floats."""

    purchase: Any = None  # clv_models.GroupedBetaGeoModel, a pymc_marketing.clv.BetaGeoModel
    spend: Any = None  # clv_models.SharedDataGammaGammaModel, a pymc_marketing.clv.GammaGammaModel
    purchase_parameters: dict[str, float] = field(default_factory=dict)
    spend_parameters: dict[str, float] = field(default_factory=dict)
    purchase_problem: str | None = None  # a status from STATUSES and a sentence, when `purchase` is None
    spend_problem: str | None = None
    pytensor_modes: dict[str, str] = field(default_factory=dict)  # model -> the pytensor mode it was fitted in
    purchase_histories: int | None = None  # the distinct (x, t_x, T) the purchase model was fitted on

    def describe(self) -> dict[str, Any]:
        return {
            "purchase_parameters": self.purchase_parameters,
            "spend_parameters": self.spend_parameters,
            "purchase_problem": self.purchase_problem,
            "spend_problem": self.spend_problem,
            "pytensor_modes": self.pytensor_modes,
            "purchase_histories": self.purchase_histories,
        }


def in_customer_order(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows sorted by customer: the warehouse returns them in no fixed order, and the fits' sums over customers
    (so their optimum, in the last digits) depend on it; the same history must give the same numbers every run."""
    return summary.sort_values("customer_id", kind="stable").reset_index(drop=True)


def model_data(summary: pd.DataFrame) -> pd.DataFrame:
    """The models' columns from the warehouse's purchase summary (int_customer_purchase_summary's names)."""
    monetary = pd.to_numeric(summary["repeat_average_revenue"], errors="coerce").astype(float)
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"].astype(str).to_numpy(),
            "frequency": summary["repeat_purchases"].astype(float).to_numpy(),
            "recency": summary["days_first_to_last"].astype(float).to_numpy(),
            "T": summary["tenure_days"].astype(float).to_numpy(),
            "monetary_value": monetary.fillna(0.0).to_numpy(),
        }
    )


@contextmanager
def _quiet():
    """pymc and arviz announce progress and API migrations; a pipeline log wants neither."""
    for name in ("pymc", "pytensor", "pymc_marketing"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _point(model, names: tuple[str, ...]) -> dict[str, float]:
    return {name: float(np.asarray(model.fit_result[name]).ravel()[0]) for name in names}


def pytensor_mode(rows: int) -> str:
    """The pytensor mode a fit on this many rows runs in (COMPILED_MIN_ROWS says why)."""
    return "FAST_RUN" if rows >= COMPILED_MIN_ROWS else "FAST_COMPILE"


@contextmanager
def _compiled_for(rows: int):
    import pytensor

    with pytensor.config.change_flags(mode=pytensor_mode(rows)):
        yield


def _usable(parameters: dict[str, float]) -> bool:
    return all(np.isfinite(v) and v > 0 for v in parameters.values())


def fit_purchase_model(data: pd.DataFrame):
    """BG/NBD fitted by maximum likelihood on customer_id, frequency, recency, T: on the distinct histories, each
    weighted by its customers (clv_models says why that is the same fit)."""
    with _quiet():
        from orchestration.metrics.clv_models import GroupedBetaGeoModel, distinct_histories

        histories = distinct_histories(data)
        model = GroupedBetaGeoModel(data=histories, model_config=purchase_priors())
        with _compiled_for(len(histories)):
            model.fit(method="map", progressbar=False, start=dict(PURCHASE_START))
    return model


def purchase_priors() -> dict:
    """BG/NBD's priors: flat, the shapes flat on (0, SHAPE_BOUND) (see the module docstring)."""
    from pymc_extras.prior import Prior

    return {
        "alpha": Prior("HalfFlat"),
        **{name: Prior("Uniform", lower=0, upper=SHAPE_BOUND) for name in ("r", "a", "b")},
    }


def fit_spend_model(data: pd.DataFrame):
    """Gamma-Gamma fitted by maximum likelihood on the repeat customers' frequency and mean repeat spend."""
    with _quiet(), _compiled_for(len(data)):
        from pymc_extras.prior import Prior

        from orchestration.metrics.clv_models import SharedDataGammaGammaModel

        model = SharedDataGammaGammaModel(
            data=data[["customer_id", "frequency", "monetary_value"]],
            model_config={name: Prior("HalfFlat") for name in SPEND_PARAMETERS},
        )
        model.fit(method="map", progressbar=False)
    return model


def fit_lifetime_models(data: pd.DataFrame, min_repeat_customers: int) -> LifetimeModels:
    """Both models, each only when there are enough repeat customers to identify it."""
    models = LifetimeModels()
    repeaters = int((data["frequency"] > 0).sum())
    if repeaters < min_repeat_customers:
        models.purchase_problem = (
            f"{TOO_FEW_REPEAT_CUSTOMERS}: {repeaters} of {len(data)} customers bought more "
            f"than once, {min_repeat_customers} needed"
        )
        return models
    try:
        purchase = fit_purchase_model(data)
        models.purchase_histories = len(purchase.data)
        models.pytensor_modes["purchase"] = pytensor_mode(models.purchase_histories)
        models.purchase_parameters = _point(purchase, PURCHASE_PARAMETERS)
    except Exception as error:  # an optimiser or compiler failure is a failed fit, reported, not a crash
        models.purchase_problem = f"{PURCHASE_MODEL_FAILED}: {type(error).__name__}: {error}"[:500]
        return models
    if not _usable(models.purchase_parameters):
        models.purchase_problem = f"{PURCHASE_MODEL_FAILED}: parameters {models.purchase_parameters}"
        return models
    models.purchase = purchase

    # A repeat customer whose repeat purchases were all refunded has no spend to fit (log 0); predicted, not fitted.
    spenders = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
    if len(spenders) < min_repeat_customers:
        models.spend_problem = (
            f"{SPEND_MODEL_UNAVAILABLE}: {len(spenders)} repeat customers with a positive "
            f"spend, {min_repeat_customers} needed"
        )
        return models
    models.pytensor_modes["spend"] = pytensor_mode(len(spenders))
    try:
        spend = fit_spend_model(spenders)
        models.spend_parameters = _point(spend, SPEND_PARAMETERS)
    except Exception as error:
        models.spend_problem = f"{SPEND_MODEL_UNAVAILABLE}: {type(error).__name__}: {error}"[:500]
        return models
    if not _usable(models.spend_parameters) or models.spend_parameters["q"] <= 1:
        # q <= 1: the population's mean spend p v / (q - 1) is infinite, so no expected spend exists.
        models.spend_problem = f"{SPEND_MODEL_UNAVAILABLE}: parameters {models.spend_parameters}"
        return models
    models.spend = spend
    return models


def _per_customer(values, customer_ids: pd.Series) -> np.ndarray:
    """A point-estimate DataArray (chain, draw, customer_id) as an array in the order of `customer_ids`."""
    series = values.mean(dim=[d for d in ("chain", "draw") if d in values.dims]).to_series()
    return series.reindex(customer_ids.to_numpy()).to_numpy(dtype=float)


def predict(models: LifetimeModels, data: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """Per customer: expected purchases over `horizon` (the data's time unit), P(alive), expected mean spend per
    purchase and their product, the expected value over the horizon (undiscounted); NULLs with a status otherwise."""
    n = len(data)
    out = pd.DataFrame({"customer_id": data["customer_id"].to_numpy()})
    for column in PREDICTION_COLUMNS:
        out[column] = np.full(n, np.nan)
    if models.purchase is None:
        problem = models.purchase_problem or PURCHASE_MODEL_FAILED
        out["prediction_status"] = problem.split(":")[0]
        out["prediction_note"] = problem
        return out
    with _quiet():
        ids = data["customer_id"]
        columns = data[["customer_id", "frequency", "recency", "T"]]
        out["predicted_purchases"] = _per_customer(models.purchase.expected_purchases(columns, future_t=horizon), ids)
        out["probability_alive"] = _per_customer(models.purchase.expected_probability_alive(columns), ids)
        if models.spend is not None:
            spend = models.spend.expected_customer_spend(data[["customer_id", "frequency", "monetary_value"]])
            out["predicted_average_value"] = _per_customer(spend, ids)
            out["predicted_value"] = out["predicted_purchases"] * out["predicted_average_value"]
    wanted = list(PREDICTION_COLUMNS) if models.spend is not None else ["predicted_purchases", "probability_alive"]
    broken = ~np.isfinite(out[wanted].to_numpy()).all(axis=1)
    out.loc[broken, list(PREDICTION_COLUMNS)] = np.nan
    out["prediction_status"] = np.where(
        broken, NOT_FINITE, PREDICTED if models.spend is not None else SPEND_MODEL_UNAVAILABLE
    )
    out["prediction_note"] = np.where(broken, "a prediction overflowed for this history", models.spend_problem)
    return out


def predict_lifetime_value(summary: pd.DataFrame, horizon_days: float, min_repeat_customers: int) -> pd.DataFrame:
    """The dbt model's output: fit on every customer's history, predict the next `horizon_days`."""
    data = model_data(in_customer_order(summary))
    models = (
        fit_lifetime_models(data, min_repeat_customers)
        if len(data)
        else LifetimeModels(purchase_problem=f"{TOO_FEW_REPEAT_CUSTOMERS}: no purchases")
    )
    predictions = predict(models, data, horizon_days)
    predictions["model_fit"] = pd.Series([_fit_summary(models)] * len(data), dtype="string")
    return _typed(predictions)


def backtest_predictions(backtest: pd.DataFrame, min_repeat_customers: int) -> pd.DataFrame:
    """Fit on the calibration history, predict each customer's holdout purchase days; beside the actual ones."""
    backtest = in_customer_order(backtest)
    data = model_data(backtest)
    holdout_days = float(backtest["holdout_days"].iloc[0]) if len(backtest) else 0.0
    if holdout_days <= 0:
        models = LifetimeModels(purchase_problem=f"{NO_HOLDOUT}: the history ends at the calibration date")
    else:
        models = fit_lifetime_models(data, min_repeat_customers)
    predictions = predict(models, data, holdout_days)
    out = pd.DataFrame(
        {
            "customer_id": predictions["customer_id"],
            "calibration_repeat_purchases": data["frequency"].astype("int64").to_numpy(),
            "predicted_holdout_purchases": predictions["predicted_purchases"].to_numpy(),
            "actual_holdout_purchases": backtest["holdout_purchase_days"].astype("int64").to_numpy(),
            "prediction_status": predictions["prediction_status"].astype("string"),
            "prediction_note": predictions["prediction_note"].astype("string"),
            "holdout_days": backtest["holdout_days"].astype("int64").to_numpy(),
            "calibration_end": pd.to_datetime(backtest["calibration_end"]).dt.date.to_numpy(),
            "model_fit": pd.Series([_fit_summary(models)] * len(data), dtype="string"),
        }
    )
    # The back-test's own settings (dbt vars) pass through, so its check reads what the build used.
    for column in ("tolerated_total_error", "frequency_cap"):
        if column in backtest:
            out[column] = backtest[column].to_numpy()
    return out


def _fit_summary(models: LifetimeModels) -> str:
    return json.dumps(models.describe(), sort_keys=True)


def _typed(predictions: pd.DataFrame) -> pd.DataFrame:
    out = predictions.copy()
    for column in ("customer_id", "prediction_status", "prediction_note"):
        out[column] = out[column].astype("string")
    for column in PREDICTION_COLUMNS:
        out[column] = out[column].astype("float64")
    return out


@dataclass(frozen=True)
class BacktestReport:
    """What the back-test check records."""

    customers: int
    predicted_customers: int
    status: str
    mae: float | None
    predicted_total: float | None
    actual_total: int
    relative_total_error: float | None
    by_frequency: list[dict]


def backtest_report(predictions: pd.DataFrame, frequency_cap: int) -> BacktestReport:
    """MAE per customer, holdout totals, and mean predicted against actual by calibration repeat purchases (the
    classic calibration/holdout table of Fader, Hardie and Lee), from backtest_predictions' rows."""
    predicted = predictions[predictions["predicted_holdout_purchases"].notna()]
    statuses = predictions["prediction_status"].value_counts()
    status = str(statuses.index[0]) if len(statuses) else TOO_FEW_REPEAT_CUSTOMERS
    if predicted.empty:
        return BacktestReport(
            len(predictions), 0, status, None, None, int(predictions["actual_holdout_purchases"].sum()), None, []
        )
    error = (predicted["predicted_holdout_purchases"] - predicted["actual_holdout_purchases"]).abs()
    actual_total = int(predicted["actual_holdout_purchases"].sum())
    predicted_total = float(predicted["predicted_holdout_purchases"].sum())
    capped = predicted["calibration_repeat_purchases"].clip(upper=frequency_cap)
    table = (
        predicted.assign(bucket=capped)
        .groupby("bucket")
        .agg(
            customers=("customer_id", "size"),
            mean_predicted=("predicted_holdout_purchases", "mean"),
            mean_actual=("actual_holdout_purchases", "mean"),
            predicted_total=("predicted_holdout_purchases", "sum"),
            actual_total=("actual_holdout_purchases", "sum"),
        )
        .reset_index()
    )
    rows = [
        {
            "calibration_repeat_purchases": f"{int(r.bucket)}+" if r.bucket >= frequency_cap else str(int(r.bucket)),
            "customers": int(r.customers),
            "mean_predicted": round(float(r.mean_predicted), 4),
            "mean_actual": round(float(r.mean_actual), 4),
            "predicted_total": round(float(r.predicted_total), 2),
            "actual_total": int(r.actual_total),
        }
        for r in table.itertuples()
    ]
    relative = abs(predicted_total - actual_total) / actual_total if actual_total else None
    return BacktestReport(
        len(predictions), len(predicted), PREDICTED, float(error.mean()), predicted_total, actual_total, relative, rows
    )
