"""Markov removal effects per channel, solved exactly (orchestration.attribution.markov)."""

from orchestration.attribution.markov import removal_effects


def model(dbt, session):
    dbt.config(materialized="table")
    transitions = dbt.ref("int_attribution_transitions").df()
    return removal_effects(transitions)
