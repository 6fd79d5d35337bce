"""How well attribution recovers the simulator's true channel ranking.

The simulator knows each marketing channel's true effect: the purchases one touch causes (P(visit | touch) x
P(purchase | visit), its `uplift_per_touch`), and ranks channels by it. A model recovers that ranking when the
conversions it credits to a channel, per touch of the kind the simulator counts, order the channels the same way.
The touch each effect is counted per (the simulator's own unit) is each marketing channel's `exposure` in the
channel registry (orchestration/channels.py).

In the simulator, marketing causes online visits and their purchases only; store sales follow each person's own
activity. So the score is also given over online conversions alone: credit that store sales hand to a channel its
fans happen to use (social engagers are the most active shoppers) is correlation, not the effect the truth ranks.
"""

import json
from pathlib import Path

import duckdb
import pandas as pd
from scipy.stats import kendalltau, spearmanr

from orchestration.channels import registry

_CREDIT_PER_TOUCH_SQL = """
with exposures as (
    select channel, count(*) as touches
    from {touchpoints}
    where {unit_filter}
    group by channel
),
credits as (
    select model, channel, sum(credit) as attributed_conversions
    from {attribution}
    where purchase_channel in ({purchase_channels})
    group by model, channel
)
select c.model, c.channel, c.attributed_conversions, e.touches,
       c.attributed_conversions / e.touches as conversions_per_touch
from credits as c
inner join exposures as e on c.channel = e.channel
order by c.model, c.channel
"""


ALL_PURCHASES = ("web", "app", "store")
ONLINE_PURCHASES = ("web", "app")


def credit_per_touch(
    con: duckdb.DuckDBPyConnection, purchase_channels=ALL_PURCHASES, schema: str = "marts"
) -> pd.DataFrame:
    """Attributed conversions per exposure, per model and channel, for the channels the truth ranks."""
    # The simulator's unit of exposure per channel: (channel, touch types) in fct_touchpoint.
    unit_filter = " or ".join(
        f"(channel = '{channel}' and touch_type in ({', '.join(repr(t) for t in types)}))"
        for channel, types in registry().exposure_touches().items()
    )
    return con.execute(
        _CREDIT_PER_TOUCH_SQL.format(
            touchpoints=f"{schema}.fct_touchpoint",
            attribution=f"{schema}.fct_attribution",
            unit_filter=unit_filter,
            purchase_channels=", ".join(repr(c) for c in purchase_channels),
        )
    ).df()


def score(con: duckdb.DuckDBPyConnection, truth_dir: str | Path, purchase_channels=ALL_PURCHASES) -> pd.DataFrame:
    """Per model: its channel ranking, the true one, and their Spearman and Kendall rank correlations."""
    truth = json.loads((Path(truth_dir) / "channel_effects.json").read_text())
    true_ranking = [c for c in truth["ranking"] if c in registry().exposure_touches()]
    observed = credit_per_touch(con, purchase_channels)
    rows = []
    for model, frame in observed.groupby("model", sort=True):
        per_touch = frame.set_index("channel")["conversions_per_touch"].reindex(true_ranking).fillna(0.0)
        ranking = list(per_touch.sort_values(ascending=False, kind="mergesort").index)
        true_positions = list(range(len(true_ranking)))
        model_positions = [ranking.index(c) for c in true_ranking]
        rows.append(
            {
                "model": model,
                "ranking": " > ".join(ranking),
                "spearman": spearmanr(true_positions, model_positions).statistic,
                "kendall_tau": kendalltau(true_positions, model_positions).statistic,
                "top_channel_right": ranking[0] == true_ranking[0],
            }
        )
    result = pd.DataFrame(rows)
    result.attrs["true_ranking"] = " > ".join(true_ranking)
    result.attrs["purchase_channels"] = purchase_channels
    result.attrs["per_touch"] = observed
    return result


def format_score(result: pd.DataFrame) -> str:
    lines = [
        f"conversions: {', '.join(result.attrs['purchase_channels'])}",
        f"true ranking (purchases caused per touch): {result.attrs['true_ranking']}",
        f"{'model':<16} {'spearman':>8} {'kendall':>8}  ranking by attributed conversions per touch",
    ]
    for row in result.itertuples():
        lines.append(f"{row.model:<16} {row.spearman:>8.3f} {row.kendall_tau:>8.3f}  {row.ranking}")
    return "\n".join(lines)
