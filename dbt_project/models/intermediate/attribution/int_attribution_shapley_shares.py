"""Exact Shapley shares of each channel in each observed converting channel set (orchestration.attribution.shapley)."""

from orchestration.attribution.shapley import shapley_shares


def model(dbt, session):
    dbt.config(materialized="table")
    channel_sets = dbt.ref("int_attribution_channel_sets").df()
    return shapley_shares(channel_sets)
