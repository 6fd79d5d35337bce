"""What the landing zone holds: its delivery days (one folder per day and source, plus `_control` files)."""

from pathlib import Path

from orchestration.ingestion.layout import delivery_days as _delivery_days


class NoDeliveryDays(LookupError):
    """Nothing to run: the landing folder is missing, or holds no delivery day in the range asked for."""


def landing_days(landing_dir: Path) -> list[str]:
    """Every day with a delivery folder of a registered source or a control-totals file, sorted.

    Folders that are not real days (`2026-13-45`, `March`) never become partitions: the source's step refuses them.
    """
    return _delivery_days(landing_dir)
