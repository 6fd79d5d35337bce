"""Markov and Shapley attribution agree with independent brute-force computations on the same paths, to 1e-9.

Random paths become touchpoints and conversions in a scratch warehouse; dbt builds journeys and every attribution
model from them, as in a run. The references below share no code with the project: Markov by exact rational
Gaussian elimination, Shapley by averaging marginal contributions over every ordering of the channels.
"""
import itertools
import os
import random
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.attribution.markov import removal_effects
from orchestration.attribution.shapley import shapley_shares
from orchestration.settings import DBT_PROJECT_DIR

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
            touches.append({"touchpoint_id": f"t{i}-{j}", "customer_id": f"c{i}", "occurred_at": start + timedelta(hours=j),
                            "engagement_channel": channel, "campaign_id": None, "device_type": None})
        if converted:
            conversions.append({"conversion_id": f"p{i}", "customer_id": f"c{i}",
                                "converted_at": start + timedelta(hours=len(path) - 1, minutes=1),
                                "revenue": 10, "purchase_channel": "web"})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        frame = pd.DataFrame(touches)  # noqa: F841 (read by DuckDB below)
        con.execute("create table marts.fct_touchpoint as select * from frame")
        frame = pd.DataFrame(conversions)
        con.execute("create table marts.fct_conversion as select conversion_id, customer_id, converted_at, "
                    "cast(revenue as decimal(18, 2)) as revenue, purchase_channel from frame")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--select", "int_journey_touches+",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env={**os.environ, "OMNI_WAREHOUSE": str(warehouse)}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return duckdb.connect(str(warehouse), read_only=True)


@pytest.fixture(scope="module")
def attributed(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("attribution")
    paths = random_paths(seed=7, count=3000)
    con = build_attribution(paths, tmp_path / "warehouse.duckdb", tmp_path)
    yield paths, con
    con.close()


def test_markov_removal_effects_match_an_exact_rational_solve(attributed):
    paths, con = attributed
    expected = brute_markov(paths)
    got = dict(con.execute("select channel, removal_effect from intermediate.int_attribution_markov_effects").fetchall())
    assert set(got) == set(expected)
    for channel, effect in expected.items():
        assert got[channel] == pytest.approx(effect, abs=1e-9), channel


def test_shapley_values_match_every_ordering_averaged(attributed):
    paths, con = attributed
    expected = brute_shapley(paths)
    got = {(s, c): v for s, c, v in con.execute(
        "select channel_set, channel, shapley_value from intermediate.int_attribution_shapley_shares").fetchall()}
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_each_conversion_gets_the_markov_and_shapley_shares_of_its_own_channels(attributed):
    paths, con = attributed
    effects = brute_markov(paths)
    shapley = brute_shapley(paths)
    credits = con.execute("select conversion_id, model, channel, sum(credit) from marts.fct_attribution "
                          "where model in ('markov', 'shapley') group by all").fetchall()
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
                shapley[(",".join(members), c)] / total_value, abs=1e-9)
        checked += 1
    assert checked > 100


def test_hand_computed_markov_and_shapley_on_two_paths():
    # Paths: email > sms converts, sms does not. P(conv) = 1/2 (start -> email: 1/2, email -> sms -> conv: 1/2... )
    # start -> email (1/2), start -> sms (1/2); email -> sms (1); sms -> conversion (1/2), sms -> null (1/2).
    # P(conv) = 1/2 * 1/2 + 1/2 * 1/2 = 1/2. Without email: start -> null 1/2, start -> sms 1/2 -> 1/4, effect 1/2.
    # Without sms: nothing converts, effect 1.
    transitions = pd.DataFrame({
        "from_state": ["(start)", "(start)", "email", "sms", "sms"],
        "to_state": ["email", "sms", "sms", "(conversion)", "(null)"],
        "transitions": [1, 1, 1, 1, 1]})
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
