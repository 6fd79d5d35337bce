"""pymc-marketing's BG/NBD and Gamma-Gamma models, built so that their fits cost less; the same likelihoods.

- **BG/NBD on grouped histories.** Its likelihood depends on a customer only through (x, t_x, T), so customers with
  the same history add the same term: the log-likelihood is the sum over distinct histories of their count times
  that term, and its maximum is the same point. Histories counted in days repeat a lot (300,000 customers over
  three days have 7 distinct ones; 100,000 over a month about 1,300), so the fit costs what the distinct histories
  cost instead of what the customers cost. pymc-marketing's `BetaGeoModel` takes no weights: `GroupedBetaGeoModel`
  builds the same model with its priors and its `BetaGeoNBD` log-density, weighted, as a `pm.Potential`.
- **Data as shared inputs.** pymc-marketing builds the data into the graph as constants, and pytensor's compiled C
  code is specialised to them, so a compiled fit is not reused: every new history compiles again (10-45 s). Here
  the data are `pm.Data` (shared variables, inputs of the compiled function), so the compiled code is the same for
  every history and pytensor's on-disk cache serves it from the second fit on, in any process.

Fitting and predicting are pymc-marketing's own: the fit result holds the same parameters, and predictions take
any customers' histories. Imports pymc-marketing at import time: import this module inside a function (clv.py).
"""

from __future__ import annotations

import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc_marketing.clv import BetaGeoModel, GammaGammaModel
from pymc_marketing.clv.distributions import BetaGeoNBD

HISTORY = ["frequency", "recency", "T"]
WEIGHT = "customers"


def distinct_histories(data: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct (frequency, recency, T), with how many customers have it, in a fixed order (the fit's
    sum, so its last digits, follow the rows' order)."""
    grouped = data.groupby(HISTORY, sort=True).size().rename(WEIGHT).reset_index()
    grouped.insert(0, "customer_id", [f"history {i}" for i in range(len(grouped))])
    return grouped


def _column(name: str, values: pd.Series) -> pt.TensorVariable:
    return pm.Data(name, values.to_numpy(dtype=float))


class GroupedBetaGeoModel(BetaGeoModel):
    """BG/NBD on distinct_histories' rows: each row's log-likelihood counted `customers` times.

    Covers the model clv.py fits: no covariates, priors on alpha, r, a and b (not pymc-marketing's phi/kappa pooling).
    """

    _model_type = "BG/NBD (grouped histories)"

    def build_model(self, data: pd.DataFrame | None = None) -> None:  # type: ignore[override]
        if data is not None:
            self.data = data
        if self.covariate_cols or not {"a", "b"} <= set(self.model_config):
            raise ValueError("GroupedBetaGeoModel takes no covariates and needs priors on a and b")
        self._validate_data(self.data)
        coords = {"customer_id": self.data["customer_id"], "obs_var": ["recency", "frequency"]}
        with pm.Model(coords=coords) as self.model:
            weights = _column("customers", self.data[WEIGHT])
            recency, frequency = _column("recency", self.data["recency"]), _column("frequency", self.data["frequency"])
            observed = pt.stack([recency, frequency], axis=1)
            alpha, r, a, b = (self.model_config[name].create_variable(name) for name in ("alpha", "r", "a", "b"))
            histories = BetaGeoNBD.dist(a=a, b=b, r=r, alpha=alpha, T=_column("T", self.data["T"]))
            pm.Potential("recency_frequency", (weights * pm.logp(histories, observed)).sum())


class SharedDataGammaGammaModel(GammaGammaModel):
    """pymc-marketing's GammaGammaModel (the mean-spend likelihood, Eq. 1a of Fader and Hardie's note, as its
    build_model writes it) with frequency and mean spend as shared inputs instead of constants."""

    _model_type = "Gamma-Gamma Model (Mean Transactions, shared data)"

    def build_model(self, data: pd.DataFrame | None = None) -> None:  # type: ignore[override]
        if data is not None:
            self.data = data
        self._validate_data(self.data)
        with pm.Model(coords={"customer_id": self.data["customer_id"]}) as self.model:
            z_mean = _column("monetary_value", self.data["monetary_value"])
            x = _column("frequency", self.data["frequency"])
            p = self.model_config["p"].create_variable("p")
            q = self.model_config["q"].create_variable("q")
            v = self.model_config["v"].create_variable("v")
            pm.Potential(
                "likelihood",
                pt.gammaln(p * x + q)
                - pt.gammaln(p * x)
                - pt.gammaln(q)
                + q * pt.log(v)
                + (p * x - 1) * pt.log(z_mean)
                + (p * x) * pt.log(x)
                - (p * x + q) * pt.log(x * z_mean + v),
            )
