"""What the landing zone holds: its delivery days (one folder per day and source, plus `_control` files)."""
from pathlib import Path


class NoDeliveryDays(LookupError):
    """Nothing to run: the landing folder is missing, or holds no delivery day in the range asked for."""


def landing_days(landing_dir: Path) -> list[str]:
    """Every day with a delivery folder or a control-totals file, sorted."""
    days = {p.name for p in landing_dir.glob("*/????-??-??") if p.is_dir() and not p.parent.name.startswith("_")}
    days |= {p.stem for p in landing_dir.glob("_control/*/????-??-??.json")}
    return sorted(days)
