"""First-order Markov attribution, solved exactly.

The paths form an absorbing Markov chain: (start) -> channels -> (conversion) or (null), with transition
probabilities from the observed counts (self-loops included). With Q the transient-to-transient and r the
transient-to-(conversion) probabilities, the absorption probabilities x solve (I - Q) x = r (the fundamental matrix
N = (I - Q)^-1 applied to r), and P(conversion) is x at (start). Removing a channel sends every transition into it to
(null); its removal effect is 1 - P(conversion without it) / P(conversion). One small linear solve per channel, all
stacked into one numpy call: no simulated walks, so the result is the same on every run and has no truncation error.

Removing a channel can only lower P(conversion), so effects lie in [0, 1] (up to float rounding, about 1e-16): 0 for a
channel on no converting path, 1 for a channel every conversion passes through.
"""

import numpy as np
import pandas as pd

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
_SPECIAL = (START, CONVERSION, NULL)


def removal_effects(transitions: pd.DataFrame) -> pd.DataFrame:
    """Removal effect and normalised weight per channel (sorted), from columns from_state, to_state, transitions."""
    channels = sorted((set(transitions["from_state"]) | set(transitions["to_state"])) - set(_SPECIAL))
    # Transient states: (start) at 0, then the channels; the last two columns are (conversion) and (null).
    states = [START, *channels, CONVERSION, NULL]
    transient = conversion = len(channels) + 1
    source = pd.Categorical(transitions["from_state"], categories=states).codes
    target = pd.Categorical(transitions["to_state"], categories=states).codes
    if (source < 0).any() or (target < 0).any() or (source >= transient).any() or (target == 0).any():
        raise ValueError("transitions must run from (start) or a channel to a channel, (conversion) or (null)")
    counts = np.zeros((transient, len(states)))
    np.add.at(counts, (source, target), transitions["transitions"].to_numpy(dtype=float))

    totals = counts.sum(axis=1, keepdims=True)
    # A state with no way out (never a from_state) keeps an all-zero row: x = 0 there, a dead end like (null).
    probabilities = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    q, r = probabilities[:, :transient], probabilities[:, conversion]

    # Scenario 0 is the full chain; scenario i removes channel i (state i): its column of Q goes to (null), which no
    # equation reads. Nothing enters it any more, so where it led no longer matters to (start).
    scenarios = np.repeat(q[np.newaxis], transient, axis=0)
    removed = np.arange(1, transient)
    scenarios[removed, :, removed] = 0.0
    # Every state of an observed path reaches an absorbing state with positive probability, so I - Q is invertible.
    rewards = np.broadcast_to(r[:, np.newaxis], (transient, transient, 1))
    absorbed = np.linalg.solve(np.eye(transient) - scenarios, rewards)[..., 0]
    base, without = absorbed[0, 0], absorbed[removed, 0]

    effects = 1.0 - without / base if base > 0 else np.zeros(len(channels))
    total = effects.sum()
    weights = effects / total if total > 0 else np.zeros(len(channels))
    return pd.DataFrame(
        {
            "channel": pd.Series(channels, dtype="string"),
            "removal_effect": pd.Series(effects, dtype="float64"),
            "weight": pd.Series(weights, dtype="float64"),
        }
    )
