"""What the landing zone holds: its delivery days (one folder per day and source, plus `_control` files)."""

from pathlib import Path

from orchestration.ingestion.layout import delivery_days as _delivery_days
from orchestration.ingestion.sources import RawTable


class NoDeliveryDays(LookupError):
    """Nothing to run: the landing folder is missing, or holds no delivery day in the range asked for."""


def landing_days(landing_dir: Path) -> list[str]:
    """Every day with a delivery folder of a registered source or a control-totals file, sorted.

    Folders that are not real days (`2026-13-45`, `March`) never become partitions: the source's step refuses them.
    """
    return _delivery_days(landing_dir)


def partition_files(landing_dir: Path, table: RawTable, day: str) -> list[Path]:
    """The files of `table` in its source's folder for delivery day `day`, sorted."""
    folder = landing_dir / table.source / day
    return sorted(p for p in folder.glob(table.file_glob) if p.is_file())


def control_files(landing_dir: Path, day: str) -> list[Path]:
    """Every source's control-totals file for delivery day `day`, sorted."""
    return sorted((landing_dir / "_control").glob(f"*/{day}.json"))


def delivery_day_paths(landing_dir: Path, day: str) -> list[Path]:
    """What delivering day `day` put in the landing zone: each source's folder for the day and every control-totals
    file of the day (what a test or benchmark copies or moves to deliver a day, or takes away to hold it back)."""
    folders = [p for p in landing_dir.glob(f"[!_]*/{day}") if p.is_dir()]
    return sorted([*folders, *control_files(landing_dir, day)])
