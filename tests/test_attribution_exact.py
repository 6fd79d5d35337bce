"""Markov and Shapley attribution agree with independent brute-force computations on the same paths, to 1e-9.

Twice over: random paths become touchpoints and conversions in a scratch warehouse, and dbt builds journeys and every
attribution model from them, as in a run; and random paths over ten channels are aggregated in SQL into the two
models' input tables, and dbt runs just the two Python models over them. Edge cases and hand-computed examples call
the pure functions. The references below share no code with the project: Markov by exact rational Gaussian
elimination, Shapley by averaging marginal contributions over every ordering of the channels.
"""

import itertools
import random
from collections import Counter
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import run_dbt

from orchestration.attribution.markov import removal_effects
from orchestration.attribution.shapley import shapley_shares

CHANNELS = ["email", "sms", "push", "web", "ads", "social"]


def random_paths(seed: int, count: int) -> list[tuple[list[str], bool]]:
    rng = random.Random(seed)
    paths = []
    for _ in range(count):
        length = rng.choice([1, 1, 2, 2, 3, 4, 6])
        path = [rng.choices(CHANNELS, weights=[5, 1, 2, 4, 3, 1])[0] for _ in range(length)]
        # Conversion odds rise with email and ads, so the chain has something to find.
        odds = 0.05 + 0.1 * ("email" in path) + 0.08 * ("ads" in path) + 0.02 * len(set(path))
        paths.append((path, rng.random() < odds))
    return paths


# ---- independent references --------------------------------------------------------------------------------
def brute_markov(paths) -> dict[str, float]:
    counts: Counter = Counter()
    for path, converted in paths:
        states = ["(start)", *path, "(conversion)" if converted else "(null)"]
        counts.update(zip(states, states[1:]))

    def conversion_probability(removed=None) -> Fraction:
        edges: Counter = Counter()
        for (a, b), n in counts.items():
            if a == removed:
                continue
            edges[(a, "(null)" if b == removed else b)] += n
        states = sorted({a for a, _ in edges})
        out = Counter()
        for (a, _), n in edges.items():
            out[a] += n
        # x_s = sum_t P(s, t) x_t + P(s, conversion): solve (I - Q) x = r exactly.
        index = {s: i for i, s in enumerate(states)}
        size = len(states)
        matrix = [[Fraction(int(i == j)) for j in range(size)] + [Fraction(0)] for i in range(size)]
        for (a, b), n in edges.items():
            p = Fraction(n, out[a])
            if b == "(conversion)":
                matrix[index[a]][size] += p
            elif b in index:
                matrix[index[a]][index[b]] -= p
        for col in range(size):
            pivot = next(r for r in range(col, size) if matrix[r][col] != 0)
            matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
            for r in range(size):
                if r != col and matrix[r][col] != 0:
                    factor = matrix[r][col] / matrix[col][col]
                    matrix[r] = [x - factor * y for x, y in zip(matrix[r], matrix[col])]
        return matrix[index["(start)"]][size] / matrix[index["(start)"]][index["(start)"]]

    base = conversion_probability()
    channels = sorted({c for path, _ in paths for c in path})
    return {c: float(1 - conversion_probability(c) / base) for c in channels}


def brute_shapley(paths) -> dict[tuple[str, str], float]:
    seen: Counter = Counter()
    won: Counter = Counter()
    for path, converted in paths:
        key = frozenset(path)
        seen[key] += 1
        won[key] += converted

    def v(coalition) -> Fraction:
        key = frozenset(coalition)
        return Fraction(won[key], seen[key]) if seen[key] else Fraction(0)

    result = {}
    for key in seen:
        if not won[key]:
            continue
        members = sorted(key)
        totals = {c: Fraction(0) for c in members}
        orderings = list(itertools.permutations(members))
        for order in orderings:
            before: list[str] = []
            for c in order:
                totals[c] += v(before + [c]) - v(before)
                before.append(c)
        for c in members:
            result[(",".join(members), c)] = float(totals[c] / len(orderings))
    return result


# ---- the pipeline's computation -----------------------------------------------------------------------------
def build_attribution(paths, warehouse: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """One customer per path: touches an hour apart, the purchase a minute after the last, or none."""
    start = datetime(2026, 3, 1)
    touches, conversions = [], []
    for i, (path, converted) in enumerate(paths):
        for j, channel in enumerate(path):
            touches.append(
                {
                    "touchpoint_id": f"t{i}-{j}",
                    "customer_id": f"c{i}",
                    "occurred_at": start + timedelta(hours=j),
                    "engagement_channel": channel,
                    "campaign_id": None,
                    "device_type": None,
                }
            )
        if converted:
            conversions.append(
                {
                    "conversion_id": f"p{i}",
                    "customer_id": f"c{i}",
                    "converted_at": start + timedelta(hours=len(path) - 1, minutes=1),
                    "revenue": 10,
                    "purchase_channel": "web",
                }
            )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.register("touches", pd.DataFrame(touches))
        con.execute("create table marts.fct_touchpoint as select * from touches")
        con.register("conversions", pd.DataFrame(conversions))
        con.execute(
            "create table marts.fct_conversion as select conversion_id, customer_id, converted_at, "
            "cast(revenue as decimal(18, 2)) as revenue, purchase_channel from conversions"
        )
    # Journeys and attribution only: the metrics marts downstream need tables these synthetic touches lack.
    run_dbt(
        "run",
        ["int_journey_touches+", "--exclude", "path:models/marts/metrics", "path:models/intermediate/metrics"],
        warehouse,
        tmp_path,
    )
    return duckdb.connect(str(warehouse), read_only=True)


@pytest.fixture(scope="module")
def attributed(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("attribution")
    paths = random_paths(seed=7, count=3000)
    con = build_attribution(paths, tmp_path / "warehouse.duckdb", tmp_path)
    yield paths, con
    con.close()


@pytest.mark.slow  # dbt runs the models in a subprocess
def test_markov_removal_effects_match_an_exact_rational_solve(attributed):
    paths, con = attributed
    expected = brute_markov(paths)
    got = dict(
        con.execute("select channel, removal_effect from intermediate.int_attribution_markov_effects").fetchall()
    )
    assert set(got) == set(expected)
    for channel, effect in expected.items():
        assert got[channel] == pytest.approx(effect, abs=1e-9), channel


@pytest.mark.slow  # dbt runs the models in a subprocess
def test_shapley_values_match_every_ordering_averaged(attributed):
    paths, con = attributed
    expected = brute_shapley(paths)
    got = {
        (s, c): v
        for s, c, v in con.execute(
            "select channel_set, channel, shapley_value from intermediate.int_attribution_shapley_shares"
        ).fetchall()
    }
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


@pytest.mark.slow  # dbt runs the models in a subprocess
def test_each_conversion_gets_the_markov_and_shapley_shares_of_its_own_channels(attributed):
    paths, con = attributed
    effects = brute_markov(paths)
    shapley = brute_shapley(paths)
    credits = con.execute(
        "select conversion_id, model, channel, sum(credit) from marts.fct_attribution "
        "where model in ('markov', 'shapley') group by all"
    ).fetchall()
    by_conversion = {(conversion, model, channel): credit for conversion, model, channel, credit in credits}
    checked = 0
    for i, (path, converted) in enumerate(paths):
        if not converted:
            continue
        members = sorted(set(path))
        total_effect = sum(effects[c] for c in members)
        total_value = sum(shapley[(",".join(members), c)] for c in members)
        for c in members:
            assert by_conversion[(f"p{i}", "markov", c)] == pytest.approx(effects[c] / total_effect, abs=1e-9)
            assert by_conversion[(f"p{i}", "shapley", c)] == pytest.approx(
                shapley[(",".join(members), c)] / total_value, abs=1e-9
            )
        checked += 1
    assert checked > 100


def test_hand_computed_markov_and_shapley_on_two_paths():
    # Paths: email > sms converts, sms does not. P(conv) = 1/2 (start -> email: 1/2, email -> sms -> conv: 1/2... )
    # start -> email (1/2), start -> sms (1/2); email -> sms (1); sms -> conversion (1/2), sms -> null (1/2).
    # P(conv) = 1/2 * 1/2 + 1/2 * 1/2 = 1/2. Without email: start -> null 1/2, start -> sms 1/2 -> 1/4, effect 1/2.
    # Without sms: nothing converts, effect 1.
    transitions = pd.DataFrame(
        {
            "from_state": ["(start)", "(start)", "email", "sms", "sms"],
            "to_state": ["email", "sms", "sms", "(conversion)", "(null)"],
            "transitions": [1, 1, 1, 1, 1],
        }
    )
    effects = removal_effects(transitions).set_index("channel")
    assert effects.loc["email", "removal_effect"] == pytest.approx(0.5)
    assert effects.loc["sms", "removal_effect"] == pytest.approx(1.0)
    assert effects["weight"].sum() == pytest.approx(1.0)
    # Shapley: v({sms}) = 0/1, v({email, sms}) = 1/1. Orderings: email then sms gives sms 1; sms then email gives
    # email 1. Each gets 1/2.
    sets = pd.DataFrame({"channel_set": ["sms", "email,sms"], "paths": [1, 1], "conversions": [0, 1]})
    shares = shapley_shares(sets).set_index("channel")
    assert list(shares["channel_set"]) == ["email,sms", "email,sms"]
    assert shares.loc["email", "shapley_value"] == pytest.approx(0.5)
    assert shares.loc["sms", "share"] == pytest.approx(0.5)


# ---- the two Python models alone, over their input contract -------------------------------------------------
JOURNEY_CHANNELS = ["email", "sms", "push", "web", "app", "ads", "social", "store", "support", "affiliate"]
JOURNEY_WEIGHTS = [24, 8, 10, 22, 12, 12, 6, 3, 3, 2]
# Added to a path's conversion odds per channel on it; social lowers them, so some Shapley values come out negative.
CONVERSION_LIFT = {
    "email": 0.12,
    "sms": 0.04,
    "push": 0.02,
    "web": 0.05,
    "app": 0.06,
    "ads": 0.10,
    "social": -0.03,
    "store": 0.03,
}


def journey_paths(seed: int, count: int) -> list[tuple[list[str], bool]]:
    """Paths as customers move: often back to the channel they were on, 1 to 12 touches, odds set by the channels.

    Ten channels, so the coalitions need more than nine bits. Paths through affiliate never convert (a channel only in
    non-converting paths), and support alone never converts (a channel whose own set has no conversions)."""
    rng = random.Random(seed)
    paths = []
    for _ in range(count):
        length = min(1 + int(rng.expovariate(1 / 2.5)), 12)
        path = rng.choices(JOURNEY_CHANNELS, JOURNEY_WEIGHTS)
        while len(path) < length:
            path.append(path[-1] if rng.random() < 0.35 else rng.choices(JOURNEY_CHANNELS, JOURNEY_WEIGHTS)[0])
        members = set(path)
        odds = 0.04 + sum(CONVERSION_LIFT.get(c, 0.0) for c in members)
        paths.append((path, rng.random() < odds and "affiliate" not in members and members != {"support"}))
    return paths


def aggregate_paths(con: duckdb.DuckDBPyConnection, paths) -> None:
    """The two models' inputs, aggregated from the paths in SQL as the contract describes them."""
    con.register(
        "touches",
        pd.DataFrame(
            [(i, j, c) for i, (path, _) in enumerate(paths) for j, c in enumerate(path, start=1)],
            columns=["path_id", "step", "channel"],
        ),
    )
    con.register(
        "outcomes",
        pd.DataFrame(
            [(i, converted, len(path)) for i, (path, converted) in enumerate(paths)],
            columns=["path_id", "is_converted", "touches"],
        ),
    )
    con.execute("create schema if not exists intermediate")
    con.execute("""
        create or replace table intermediate.int_attribution_transitions as
        with states as (
            select path_id, 0 as step, '(start)' as state from outcomes
            union all
            select path_id, step, channel from touches
            union all
            select path_id, touches + 1, case when is_converted then '(conversion)' else '(null)' end from outcomes
        ),
        steps as (
            select state as from_state, lead(state) over (partition by path_id order by step) as to_state from states
        )
        select from_state, to_state, cast(count(*) as bigint) as transitions
        from steps
        where to_state is not null
        group by from_state, to_state""")
    con.execute("""
        create or replace table intermediate.int_attribution_channel_sets as
        with sets as (
            select path_id, array_to_string(list_sort(list_distinct(list(channel))), ',') as channel_set
            from touches
            group by path_id
        )
        select channel_set, cast(count(*) as bigint) as paths,
            cast(count(*) filter (where is_converted) as bigint) as conversions
        from sets
        inner join outcomes using (path_id)
        group by channel_set""")


def inputs(paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    with duckdb.connect() as con:
        aggregate_paths(con, paths)
        return (
            con.execute("select * from intermediate.int_attribution_transitions").df(),
            con.execute("select * from intermediate.int_attribution_channel_sets").df(),
        )


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """The two dbt Python models run alone over input tables written straight into a scratch warehouse."""
    tmp_path = tmp_path_factory.mktemp("attribution_exact")
    warehouse = tmp_path / "warehouse.duckdb"
    paths = journey_paths(seed=11, count=4000)
    with duckdb.connect(str(warehouse)) as con:
        aggregate_paths(con, paths)
    run_dbt("run", ["int_attribution_markov_effects", "int_attribution_shapley_shares"], warehouse, tmp_path)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        effects = con.execute("select * from intermediate.int_attribution_markov_effects").df()
        shares = con.execute("select * from intermediate.int_attribution_shapley_shares").df()
        types = dict(
            con.execute(
                "select table_name || '.' || column_name, data_type from information_schema.columns "
                "where table_name in ('int_attribution_markov_effects', "
                "'int_attribution_shapley_shares')"
            ).fetchall()
        )
    return paths, effects, shares, types


@pytest.mark.slow  # dbt runs the models in a subprocess
def test_the_models_write_the_documented_columns(solved):
    _, _, _, types = solved
    assert types == {
        "int_attribution_markov_effects.channel": "VARCHAR",
        "int_attribution_markov_effects.removal_effect": "DOUBLE",
        "int_attribution_markov_effects.weight": "DOUBLE",
        "int_attribution_shapley_shares.channel_set": "VARCHAR",
        "int_attribution_shapley_shares.channel": "VARCHAR",
        "int_attribution_shapley_shares.shapley_value": "DOUBLE",
        "int_attribution_shapley_shares.share": "DOUBLE",
    }


@pytest.mark.slow  # dbt runs the models in a subprocess
def test_markov_model_matches_the_rational_solve_on_ten_channels(solved):
    paths, effects, _, _ = solved
    expected = brute_markov(paths)
    got = effects.set_index("channel")
    assert sorted(got.index) == sorted(expected) == sorted(JOURNEY_CHANNELS)
    for channel, effect in expected.items():
        assert got.loc[channel, "removal_effect"] == pytest.approx(effect, abs=1e-9), channel
        assert got.loc[channel, "weight"] == pytest.approx(effect / sum(expected.values()), abs=1e-9), channel
    # A first-order chain forgets where a walk has been: affiliate's paths never convert, but its transitions lead
    # into channels that convert on other paths, so removing it still costs conversions. (It gets no credit in
    # fct_attribution all the same: no converting path holds it.)
    assert got.loc["affiliate", "removal_effect"] > 0


@pytest.mark.slow  # dbt runs the models in a subprocess
def test_shapley_model_matches_every_ordering_on_ten_channels(solved):
    paths, _, shares, _ = solved
    expected = brute_shapley(paths)
    got = {(s, c): (v, share) for s, c, v, share in shares.itertuples(index=False)}
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key][0] == pytest.approx(value, abs=1e-9), key
    by_set = shares.groupby("channel_set")
    assert (by_set["share"].sum() - 1).abs().max() < 1e-9
    assert (shares["shapley_value"] < 0).any(), "social lowers conversion: some values should be negative"
    assert "affiliate" not in set(shares["channel"])
    assert ("support", "support") not in got  # its own set never converts
    assert (shares.loc[by_set["channel"].transform("size") == 1, "share"] == 1.0).all()


# ---- edge cases of the pure functions, against the same references -------------------------------------------
EDGE_CASES = {
    "one channel, repeated": [
        (["email"], True),
        (["email", "email"], False),
        (["email"] * 3, True),
        (["email"], False),
    ],
    "no conversion at all": [(["email", "sms"], False), (["sms"], False), (["web", "web", "email"], False)],
    "single-channel sets only": [(["email"], True), (["sms"], False), (["sms"], True), (["web"], False)],
    "a channel only on paths that do not convert": [
        (["email", "ads"], True),
        (["ads"], True),
        (["social", "email"], False),
        (["social"], False),
        (["email"], False),
    ],
}


@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases_match_the_references(case):
    paths = EDGE_CASES[case]
    transitions, channel_sets = inputs(paths)
    effects = removal_effects(transitions)
    shares = shapley_shares(channel_sets)
    assert list(effects["channel"]) == sorted({c for path, _ in paths for c in path})
    assert list(zip(shares["channel_set"], shares["channel"])) == sorted(zip(shares["channel_set"], shares["channel"]))
    if any(converted for _, converted in paths):
        expected = brute_markov(paths)
        for channel, effect in zip(effects["channel"], effects["removal_effect"]):
            assert effect == pytest.approx(expected[channel], abs=1e-9), channel
        assert effects["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    else:
        # Nothing converts: nothing to remove, no credit to give.
        assert (effects["removal_effect"] == 0).all() and (effects["weight"] == 0).all()
    expected_shapley = brute_shapley(paths)
    assert {(s, c): v for s, c, v, _ in shares.itertuples(index=False)} == pytest.approx(expected_shapley, abs=1e-9)
    assert ((shares.groupby("channel_set")["share"].sum() - 1).abs() < 1e-12).all()


def test_hand_computed_markov_with_a_self_loop():
    # Paths: email > email > sms converts, sms does not, email converts.
    # start -> email 2/3, start -> sms 1/3; email -> email 1/3, email -> sms 1/3, email -> conversion 1/3;
    # sms -> conversion 1/2, sms -> null 1/2.
    # x_sms = 1/2; x_email = x_email / 3 + x_sms / 3 + 1/3, so x_email = 3/4; P = 2/3 * 3/4 + 1/3 * 1/2 = 2/3.
    # Without email: only start -> sms -> conversion, 1/3 * 1/2 = 1/6; effect 1 - (1/6) / (2/3) = 3/4.
    # Without sms: x_email = x_email / 3 + 1/3, so 1/2; P = 2/3 * 1/2 = 1/3; effect 1 - (1/3) / (2/3) = 1/2.
    # Weights: 3/4 and 1/2 over 5/4: 3/5 and 2/5.
    transitions, _ = inputs([(["email", "email", "sms"], True), (["sms"], False), (["email"], True)])
    effects = removal_effects(transitions)
    assert list(effects["channel"]) == ["email", "sms"]
    assert list(effects["removal_effect"]) == pytest.approx([3 / 4, 1 / 2], abs=1e-12)
    assert list(effects["weight"]) == pytest.approx([3 / 5, 2 / 5], abs=1e-12)


def test_hand_computed_shapley_with_a_negative_value():
    # v(email) = 2/10, v(sms) = 1/10, v(email, sms) = 1/20 (lower than email alone), v(ads, email) = 0/5,
    # v(ads, email, sms) = 2/4; ads alone and ads + sms were never observed: 0.
    # {email, sms}: email = 1/2 (0.2 + (0.05 - 0.1)) = 0.075; sms = 1/2 (0.1 + (0.05 - 0.2)) = -0.025; sum 0.05,
    #   shares 1.5 and -0.5.
    # {ads, email, sms}, weights 1/3, 1/6, 1/6, 1/3 for coalitions of 0, 1, 1, 2 others:
    #   ads   = 1/3 * 0 + 1/6 * (0 - 0.2) + 1/6 * (0 - 0.1) + 1/3 * (0.5 - 0.05) = 0.1
    #   email = 1/3 * 0.2 + 1/6 * (0 - 0) + 1/6 * (0.05 - 0.1) + 1/3 * (0.5 - 0) = 0.225
    #   sms   = 1/3 * 0.1 + 1/6 * (0 - 0) + 1/6 * (0.05 - 0.2) + 1/3 * (0.5 - 0) = 0.175
    #   sum 0.5 = v(ads, email, sms); shares 0.2, 0.45, 0.35.
    # {ads, email} has no conversion: no rows. A one-channel set takes all its credit.
    channel_sets = pd.DataFrame(
        {
            "channel_set": ["sms", "ads,email,sms", "email", "ads,email", "email,sms"],
            "paths": [10, 4, 10, 5, 20],
            "conversions": [1, 2, 2, 0, 1],
        }
    )
    shares = shapley_shares(channel_sets)
    assert [tuple(row) for row in shares[["channel_set", "channel"]].itertuples(index=False)] == [
        ("ads,email,sms", "ads"),
        ("ads,email,sms", "email"),
        ("ads,email,sms", "sms"),
        ("email", "email"),
        ("email,sms", "email"),
        ("email,sms", "sms"),
        ("sms", "sms"),
    ]
    assert list(shares["shapley_value"]) == pytest.approx([0.1, 0.225, 0.175, 0.2, 0.075, -0.025, 0.1], abs=1e-12)
    assert list(shares["share"]) == pytest.approx([0.2, 0.45, 0.35, 1.0, 1.5, -0.5, 1.0], abs=1e-12)
