"""Times the two exact data-driven attribution models (Markov removal effects, Shapley shares) on inputs of full size.

    .venv/bin/python benchmarks/attribution_exact.py [--conversions 1000000] [--touches-per-conversion 24]
                                                     [--channels 9] [--workdir /tmp/omni-attribution-exact]

What SQL hands these models is small whatever the traffic: about (k + 1) x (k + 2) transition counts and up to
2^k - 1 channel sets for k channels. This writes both inputs straight into a scratch warehouse (untimed), sized as
1M conversions and 24M engagement touches would make them (every channel set observed), then times `dbt run` of
the two dbt Python models (dbt's own per-model timings, and the wall time with dbt's start-up) and the pure numpy
functions alone. benchmarks/attribution.py times them inside the whole chain, from touchpoints on.
"""

import time

import duckdb
import numpy as np
import pandas as pd

from orchestration.channels import registry

from _harness import PeakMemory, argument_parser, pipeline, run_dbt

MODELS = ["int_attribution_markov_effects", "int_attribution_shapley_shares"]


def channel_names(count: int) -> list[str]:
    """The channel registry's touchpoint channels, then made-up ones up to `count`."""
    channels = registry().touchpoint_channels()
    return (channels + [f"channel_{i}" for i in range(len(channels) + 1, count + 1)])[:count]


def synthetic_inputs(
    conversions: int, touches: int, channels: list[str], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transition counts and channel-set counts for paths with these totals, every channel set present."""
    rng = np.random.default_rng(seed)
    k = len(channels)
    paths = int(conversions * 1.6)  # open paths beside the converting ones, as in benchmarks/attribution.py
    reach = rng.uniform(0.03, 0.25, k)  # how often a channel shows up

    # Shapley input: every non-empty set; paths by how likely the set is, conversion rates that vary by set.
    masks = np.arange(1, 1 << k)
    holds = ((masks[:, np.newaxis] >> np.arange(k)) & 1).astype(bool)
    likelihood = np.where(holds, reach, 1 - reach).prod(axis=1)
    set_paths = rng.multinomial(paths - len(masks), likelihood / likelihood.sum()) + 1
    lift = np.clip(0.1 + holds @ rng.normal(0.08, 0.05, k) - 0.05 * holds.sum(axis=1) / k, 0.01, None)
    rate = np.clip(lift * conversions / (lift * set_paths).sum(), 0.0, 0.99)  # about `conversions` in all
    set_conversions = rng.binomial(set_paths, rate)
    channel_sets = pd.DataFrame(
        {
            "channel_set": [",".join(sorted(c for c, held in zip(channels, row) if held)) for row in holds],
            "paths": set_paths,
            "conversions": set_conversions,
        }
    )

    # Markov input: (start) -> first channel, touches flowing between channels (repeats included), path ends.
    share = reach / reach.sum()
    converted = int(set_conversions.sum())
    ends = rng.multinomial(paths, share)
    ends_converting = rng.multivariate_hypergeometric(ends, converted)
    onward = rng.multinomial(max(touches - paths, 0), share)
    rows = [("(start)", c, n) for c, n in zip(channels, rng.multinomial(paths, share))]
    for i, channel in enumerate(channels):
        next_weights = 0.65 * share + 0.35 * np.eye(k)[i]
        rows += [(channel, c, n) for c, n in zip(channels, rng.multinomial(onward[i], next_weights))]
        rows += [(channel, "(conversion)", ends_converting[i]), (channel, "(null)", ends[i] - ends_converting[i])]
    transitions = pd.DataFrame(rows, columns=["from_state", "to_state", "transitions"])
    return transitions[transitions["transitions"] > 0], channel_sets


def main() -> int:
    parser = argument_parser(__doc__, workdir="/tmp/omni-attribution-exact", seed=1)
    parser.add_argument("--conversions", type=int, default=1_000_000)
    parser.add_argument("--touches-per-conversion", type=int, default=24)
    parser.add_argument(
        "--channels",
        type=int,
        default=len(registry().touchpoint_channels()),
        help="the channel registry's by default (9); more are made up",
    )
    args = parser.parse_args()

    memory = PeakMemory.start()
    work = pipeline(args.workdir, fresh=True)
    from orchestration.attribution.markov import removal_effects
    from orchestration.attribution.shapley import shapley_shares

    channels = channel_names(args.channels)
    transitions, channel_sets = synthetic_inputs(
        args.conversions, args.conversions * args.touches_per_conversion, channels, args.seed
    )
    with duckdb.connect(str(work.warehouse)) as con:
        con.execute("create schema intermediate")
        con.execute(
            "create table intermediate.int_attribution_transitions as "
            "select from_state, to_state, cast(transitions as bigint) as transitions from transitions"
        )
        con.execute(
            "create table intermediate.int_attribution_channel_sets as select channel_set, "
            "cast(paths as bigint) as paths, cast(conversions as bigint) as conversions from channel_sets"
        )
    print(
        f"inputs: {len(channels)} channels, {len(transitions)} transition counts "
        f"({int(transitions['transitions'].sum()):,} transitions), {len(channel_sets)} channel sets "
        f"({int(channel_sets['paths'].sum()):,} paths, {int(channel_sets['conversions'].sum()):,} conversions)"
    )

    run = run_dbt(work, MODELS)
    for model in MODELS:
        print(f"  dbt {model:<36} {run.model_seconds[model]:6.2f} s")
    print(f"  dbt run wall time, start-up and parsing included {run.wall_seconds:6.2f} s")

    for name, solve, given in [
        ("markov.removal_effects", removal_effects, transitions),
        ("shapley.shapley_shares", shapley_shares, channel_sets),
    ]:
        best = min(_seconds(solve, given) for _ in range(3))
        print(f"  numpy {name:<34} {best:6.3f} s (best of 3)")
    with duckdb.connect(str(work.warehouse), read_only=True) as con:
        rows = con.execute("select count(*) from intermediate.int_attribution_shapley_shares").fetchall()[0][0]
    print(f"{rows:,} Shapley rows; peak memory {memory.gb():.2f} GB")
    return 0


def _seconds(solve, given) -> float:
    started = time.perf_counter()
    solve(given)
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
