"""Delivery days: one partition per landing folder day, added as folders appear."""
from pathlib import Path

import dagster as dg

DELIVERY_DAY = "delivery_day"
delivery_days = dg.DynamicPartitionsDefinition(name=DELIVERY_DAY)


def landing_days(landing_dir: Path) -> list[str]:
    """Every day with a delivery folder or a control-totals file, sorted."""
    days = {p.name for p in landing_dir.glob("*/????-??-??") if p.is_dir() and not p.parent.name.startswith("_")}
    days |= {p.stem for p in landing_dir.glob("_control/*/????-??-??.json")}
    return sorted(days)
