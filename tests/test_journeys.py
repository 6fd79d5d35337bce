"""Touchpoints, journeys and attribution on the simulated test world."""

import duckdb
import pytest

from simulator.scoring.attribution import ONLINE_PURCHASES, score


def test_bots_are_excluded_from_touchpoints_and_counted(world):
    staged_bot_events = sum(
        world.query(f"select count(*) from staging.stg_{source}__events where is_bot_user_agent")[0][0]
        for source in ("web", "app")
    )
    assert staged_bot_events > 0  # the world has bots
    counted = world.query(
        "select sum(bot_touches), sum(staged_touches), "
        "sum(included_touches + bot_touches + unresolved_touches) "
        "from marts.agg_touchpoint_coverage"
    )[0]
    assert counted[0] == staged_bot_events
    assert counted[1] == counted[2]  # every staged contact is included, a bot or unresolved
    included = world.query("select sum(included_touches) from marts.agg_touchpoint_coverage")[0][0]
    assert world.query("select count(*) from marts.fct_touchpoint")[0][0] == included
    leaked = world.query("""select count(*) from marts.fct_touchpoint as t
        inner join staging.stg_web__events as w on t.touchpoint_id = 'web:' || w.event_id
        where w.is_bot_user_agent""")[0][0]
    assert leaked == 0


def test_every_conversion_has_one_journey_and_credits_sum_to_one_per_model(world):
    conversions = world.query("select count(*) from marts.fct_conversion")[0][0]
    journeys = world.query("select count(*), count(distinct conversion_id) from marts.fct_journey where is_converted")[
        0
    ]
    assert journeys == (conversions, conversions)
    assert world.query("select count(*) from marts.fct_journey where not is_converted")[0][0] > 0  # open paths kept
    sums = world.query("""select model, min(total), max(total), count(*) from (
            select model, conversion_id, sum(credit) as total from marts.fct_attribution group by all)
        group by model order by model""")
    assert [row[0] for row in sums] == sorted(
        ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"]
    )
    for model, low, high, credited in sums:
        assert credited == conversions, model
        assert low == pytest.approx(1.0, abs=1e-9) and high == pytest.approx(1.0, abs=1e-9), model
    revenue = world.query("select sum(revenue) from marts.fct_conversion")[0][0]
    for model, attributed in world.query("select model, sum(attributed_revenue) from marts.fct_attribution group by 1"):
        assert attributed == pytest.approx(float(revenue), abs=1e-6), model


def test_journey_paths_reset_at_each_purchase(world):
    # A repeat buyer's touches are credited to one purchase only.
    shared = world.query("""select count(*) from (
        select touchpoint_id from intermediate.int_journey_touches group by touchpoint_id having count(*) > 1)""")[0][0]
    assert shared == 0
    late = world.query("""select count(*) from intermediate.int_journey_touches
        where is_converted and (occurred_at > converted_at or occurred_at < converted_at - interval 30 day)""")[0][0]
    assert late == 0


def test_attribution_ranks_email_above_social_as_the_truth_does(world):
    # The simulator's email click causes ~18x the purchases of a social engagement; on online purchases (the ones
    # marketing causes in the simulator) every model must see email ahead of social.
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        result = score(con, world.truth, ONLINE_PURCHASES)
    assert len(result) == 7
    for row in result.itertuples():
        ranking = row.ranking.split(" > ")
        assert ranking.index("email") < ranking.index("social"), (row.model, row.ranking)
