"""Delivery days: one partition per landing folder day, added as folders appear."""
from pathlib import Path

import dagster as dg

from orchestration.ingestion.layout import delivery_days as _delivery_days

DELIVERY_DAY = "delivery_day"
delivery_days = dg.DynamicPartitionsDefinition(name=DELIVERY_DAY)


def landing_days(landing_dir: Path) -> list[str]:
    """Every day with a delivery folder of a registered source or a control-totals file, sorted.

    Folders that are not real days (`2026-13-45`, `March`) never become partitions: the source's step refuses them.
    """
    return _delivery_days(landing_dir)
