"""Shapley attribution, exact over channel subsets.

The game: v(T) = the conversion rate of paths whose set of channels is exactly T (0 for a set never observed, and
v(empty) = 0). For each observed converting set S, each channel's Shapley value in the game played over the subsets
of S is the weighted average of its marginal contributions v(T + c) - v(T) over T in S - {c}, with weights
|T|! (|S| - |T| - 1)! / |S|!. The values sum to v(S) > 0, so shares (values / v(S)) sum to 1. A value can be
negative: a channel whose presence lowers the conversion rate. Sets are bitmasks, so the work is a few vectorised
passes over at most 2^k coalitions for k channels.
"""
from math import factorial

import numpy as np
import pandas as pd


def shapley_shares(channel_sets: pd.DataFrame) -> pd.DataFrame:
    """Per observed converting channel set and channel: shapley_value and share, from channel_set, paths, conversions."""
    sets = [s.split(",") for s in channel_sets["channel_set"]]
    channels = sorted({c for s in sets for c in s})
    bit = {c: 1 << i for i, c in enumerate(channels)}
    masks = np.array([sum(bit[c] for c in set(s)) for s in sets], dtype=np.int64)
    value = np.zeros(1 << len(channels))
    rates = channel_sets["conversions"].to_numpy(float) / channel_sets["paths"].to_numpy(float)
    value[masks] = rates
    value[0] = 0.0
    popcount = np.array([bin(m).count("1") for m in range(len(value))])
    rows = []
    for set_text, mask, conversions in zip(channel_sets["channel_set"], masks, channel_sets["conversions"]):
        if conversions <= 0:
            continue
        size = int(popcount[mask])
        # Every coalition T inside S: enumerate submasks of S once.
        submasks = np.array([t for t in range(len(value)) if t & mask == t], dtype=np.int64)
        members = [c for c in channels if mask & bit[c]]
        values = []
        for c in members:
            without = submasks[(submasks & bit[c]) == 0]
            k = popcount[without]
            weights = np.array([factorial(int(j)) * factorial(size - int(j) - 1) for j in k]) / factorial(size)
            values.append(float(np.sum(weights * (value[without | bit[c]] - value[without]))))
        total = sum(values)
        for c, v in zip(members, values):
            rows.append({"channel_set": set_text, "channel": c, "shapley_value": v, "share": v / total})
    return pd.DataFrame(rows, columns=["channel_set", "channel", "shapley_value", "share"]).sort_values(
        ["channel_set", "channel"], ignore_index=True)
