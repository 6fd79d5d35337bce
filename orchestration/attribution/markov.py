"""First-order Markov attribution, solved exactly.

The paths form an absorbing Markov chain: (start) -> channels -> (conversion) or (null), with transition
probabilities from the observed counts. The probability of reaching (conversion) from (start) comes from the
fundamental matrix: with Q the transient-to-transient and R the transient-to-absorbing probabilities, the absorption
probabilities B solve (I - Q) B = R. Removing a channel sends every transition into it to (null); its removal effect
is 1 - P(conversion without it) / P(conversion). One linear solve per channel: no simulated walks, so the result is
the same on every run and has no truncation error.
"""
import numpy as np
import pandas as pd

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


def _conversion_probability(transitions: pd.DataFrame, removed: str | None = None) -> float:
    counts = transitions
    if removed is not None:
        counts = counts.assign(to_state=counts["to_state"].where(counts["to_state"] != removed, NULL))
        counts = counts[counts["from_state"] != removed]
    transient = sorted(set(counts["from_state"]) - {CONVERSION, NULL})
    if START not in transient:
        return 0.0
    index = {state: i for i, state in enumerate(transient)}
    n = len(transient)
    totals = counts.groupby("from_state")["transitions"].sum()
    q = np.zeros((n, n))
    r = np.zeros(n)
    for row in counts.itertuples(index=False):  # about a hundred rows: the channels squared
        p = row.transitions / totals[row.from_state]
        if row.to_state == CONVERSION:
            r[index[row.from_state]] += p
        elif row.to_state in index:
            q[index[row.from_state], index[row.to_state]] += p
        # A transition to (null), or to a state with no way out, leads nowhere: it is absorption without conversion.
    absorbed = np.linalg.solve(np.eye(n) - q, r)
    return float(absorbed[index[START]])


def removal_effects(transitions: pd.DataFrame) -> pd.DataFrame:
    """Removal effect and normalised weight per channel, from columns from_state, to_state, transitions."""
    channels = sorted((set(transitions["from_state"]) | set(transitions["to_state"])) - {START, CONVERSION, NULL})
    base = _conversion_probability(transitions)
    effects = np.array([1.0 - _conversion_probability(transitions, c) / base if base > 0 else 0.0 for c in channels])
    total = effects.sum()
    weights = effects / total if total > 0 else np.zeros_like(effects)
    return pd.DataFrame({"channel": channels, "removal_effect": effects, "weight": weights})
