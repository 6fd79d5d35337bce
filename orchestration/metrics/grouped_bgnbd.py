"""BG/NBD fitted on distinct purchase histories, each weighted by the number of customers who share it.

BG/NBD's likelihood depends on a customer only through (x, t_x, T), so customers with the same history add the same
term: the log-likelihood is the sum over distinct histories of their count times that term, and its maximum is the
same point. Histories counted in days repeat a lot (300,000 customers over three days have 7 distinct ones; 100,000
over a month a few thousand), so the fit costs what the distinct histories cost instead of what the customers cost.
pymc-marketing's `BetaGeoModel` takes no weights; this subclass builds the same model with its own priors and its
`BetaGeoNBD` log-density, weighted, as a `pm.Potential`. Fitting and predicting are pymc-marketing's own: the fit
result holds the same parameters, and predictions take any customers' histories.

Imports pymc-marketing at import time: import this module inside a function (see clv.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
from pymc_marketing.clv import BetaGeoModel
from pymc_marketing.clv.distributions import BetaGeoNBD

HISTORY = ["frequency", "recency", "T"]
WEIGHT = "customers"


def distinct_histories(data: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct (frequency, recency, T), with how many customers have it, in a fixed order (the fit's
    sum, so its last digits, follow the rows' order)."""
    grouped = data.groupby(HISTORY, sort=True).size().rename(WEIGHT).reset_index()
    grouped.insert(0, "customer_id", [f"history {i}" for i in range(len(grouped))])
    return grouped


class GroupedBetaGeoModel(BetaGeoModel):
    """BG/NBD on distinct_histories' rows: each row's log-likelihood counted `customers` times.

    Covers the model without covariates, with `a` and `b` (or pymc-marketing's phi/kappa pooling) in model_config.
    """

    _model_type = "BG/NBD (grouped histories)"

    def build_model(self, data: pd.DataFrame | None = None) -> None:  # type: ignore[override]
        if data is not None:
            self.data = data
        if self.covariate_cols:
            raise ValueError("GroupedBetaGeoModel has no covariates: histories with covariates do not group")
        self._validate_data(self.data)
        weights = self.data[WEIGHT].to_numpy(dtype=float)
        coords = {"customer_id": self.data["customer_id"], "obs_var": ["recency", "frequency"]}
        with pm.Model(coords=coords) as self.model:
            alpha = self.model_config["alpha"].create_variable("alpha")
            if "a" in self.model_config and "b" in self.model_config:
                a = self.model_config["a"].create_variable("a")
                b = self.model_config["b"].create_variable("b")
            else:
                phi = self.model_config["phi_dropout"].create_variable("phi_dropout")
                kappa = self.model_config["kappa_dropout"].create_variable("kappa_dropout")
                a = pm.Deterministic("a", phi * kappa)
                b = pm.Deterministic("b", (1.0 - phi) * kappa)
            r = self.model_config["r"].create_variable("r")
            histories = BetaGeoNBD.dist(a=a, b=b, r=r, alpha=alpha, T=self.data["T"].to_numpy(dtype=float))
            observed = np.stack((self.data["recency"], self.data["frequency"]), axis=1).astype(float)
            pm.Potential("recency_frequency", (weights * pm.logp(histories, observed)).sum())
