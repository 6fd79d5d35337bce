"""The publication gate reads the instance: a check counts only if its latest evaluation passed on the asset's latest
materialization (orchestration/defs/gate.py), whatever started the runs."""

import dagster as dg
import pytest

from orchestration.defs.gate import evaluate_gate
from orchestration.runner import prepared_dagster_home

STATE = {"orders": 3}


@dg.asset
def orders():
    """Some orders."""
    return STATE["orders"]


@dg.asset
def refunds():
    """Some refunds, never checked."""
    return 1


@dg.asset_check(asset=orders)
def orders_counted(orders):
    return dg.AssetCheckResult(passed=orders == 3, description=f"{orders} orders")


@dg.asset_check(asset=orders)
def orders_look_usual(orders):
    return dg.AssetCheckResult(passed=orders < 5, severity=dg.AssetCheckSeverity.WARN, description="many orders")


@dg.asset_check(asset=refunds)
def refunds_counted():
    return dg.AssetCheckResult(passed=True)


COUNTED = dg.AssetCheckKey(dg.AssetKey("orders"), "orders_counted")
USUAL = dg.AssetCheckKey(dg.AssetKey("orders"), "orders_look_usual")
REFUNDS = dg.AssetCheckKey(dg.AssetKey("refunds"), "refunds_counted")


@pytest.fixture
def instance(tmp_path):
    with dg.DagsterInstance.from_config(str(prepared_dagster_home(tmp_path / "dagster_home"))) as instance:
        yield instance


def _materialize(instance, *assets, checks=(), count=3):
    STATE["orders"] = count
    assert dg.materialize([*assets, *checks], instance=instance, raise_on_error=False) is not None


def test_a_check_counts_only_on_the_latest_materialization_of_its_asset(instance):
    _materialize(instance, orders, refunds, checks=[orders_counted, orders_look_usual])
    gate = evaluate_gate(instance, [COUNTED, USUAL, REFUNDS])
    assert (gate.passed, gate.unchecked, gate.open) == (
        ["orders:orders_counted", "orders:orders_look_usual"],
        ["refunds:refunds_counted"],  # never evaluated
        False,
    )

    _materialize(instance, refunds, checks=[refunds_counted])
    assert evaluate_gate(instance, [COUNTED, USUAL, REFUNDS]).open

    # orders changes after its checks ran: they no longer speak for it, while refunds' still does.
    _materialize(instance, orders)
    gate = evaluate_gate(instance, [COUNTED, USUAL, REFUNDS])
    assert gate.unchecked == ["orders:orders_counted", "orders:orders_look_usual"]
    assert gate.passed == ["refunds:refunds_counted"]


def test_an_error_check_that_fails_closes_the_gate_and_a_warning_does_not(instance):
    _materialize(instance, orders, refunds, checks=[orders_counted, orders_look_usual, refunds_counted], count=4)
    gate = evaluate_gate(instance, [COUNTED, USUAL, REFUNDS])
    assert (gate.failed, gate.passed, gate.open) == (
        ["orders:orders_counted"],
        ["orders:orders_look_usual", "refunds:refunds_counted"],
        False,
    )

    _materialize(instance, orders, checks=[orders_counted, orders_look_usual], count=6)
    gate = evaluate_gate(instance, [COUNTED, USUAL, REFUNDS])
    assert gate.warned == ["orders:orders_look_usual"]
    assert gate.warnings == {"orders:orders_look_usual": "many orders"}
    assert gate.failed == ["orders:orders_counted"]

    _materialize(instance, orders, checks=[orders_counted, orders_look_usual], count=3)
    assert evaluate_gate(instance, [COUNTED, USUAL, REFUNDS]).open
