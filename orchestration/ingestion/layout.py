"""The landing zone's folders against the contract: delivery-day folders, folders it does not know, misnamed days.

`<landing>/<source>/<YYYY-MM-DD>/` for the registered sources, `<landing>/_control/<source>/<YYYY-MM-DD>.json`,
and the simulator's `<landing>/_truth/`. Hidden entries (`.DS_Store`, `.sync`) are not deliveries and are skipped.
"""

import re
from datetime import date
from pathlib import Path

from orchestration.ingestion.errors import LandingFileError
from orchestration.ingestion.sources import SOURCES

SPECIAL_FOLDERS = ("_control", "_truth")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class LandingLayoutError(LandingFileError):
    """A landing folder whose name breaks the contract, so its files cannot be given a delivery day."""


def is_delivery_day(name: str) -> bool:
    """`YYYY-MM-DD` and a real calendar day (`2026-13-45` is not)."""
    if not _DAY.fullmatch(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def unknown_folders(landing_dir: Path) -> list[str]:
    """Folders (relative to the landing dir) that the contract does not know: never read, so worth a warning."""
    top = [p.name for p in _entries(landing_dir) if p.is_dir() and p.name not in SOURCES + SPECIAL_FOLDERS]
    control = [f"_control/{p.name}" for p in _entries(landing_dir / "_control") if p.is_dir() and p.name not in SOURCES]
    return top + control


def misplaced_entries(landing_dir: Path, source: str) -> list[Path]:
    """Entries of a source folder that are not delivery-day folders (`2026-13-45/`, `March/`, a stray file)."""
    return [p for p in _entries(landing_dir / source) if not (p.is_dir() and is_delivery_day(p.name))]


def misnamed_control_files(landing_dir: Path) -> list[Path]:
    """Entries of `_control/<source>/` that are not `<YYYY-MM-DD>.json` files."""
    return [
        p
        for folder in _entries(landing_dir / "_control")
        if folder.is_dir() and folder.name in SOURCES
        for p in _entries(folder)
        if not (p.is_file() and p.suffix == ".json" and is_delivery_day(p.stem))
    ]


def refuse_misplaced(paths: list[Path], what: str) -> None:
    """Raise a LandingLayoutError naming every path when there is any."""
    if paths:
        listed = ", ".join(str(p) for p in paths)
        raise LandingLayoutError(
            f"{listed}: {what}; rename or move {'it' if len(paths) == 1 else 'them'} to load this source"
        )


def check_source_folder(landing_dir: Path, source: str) -> None:
    """Refuse a source whose folder holds anything but delivery-day folders: those files would be silently lost."""
    refuse_misplaced(
        misplaced_entries(landing_dir, source), "not a delivery-day folder (the contract wants <source>/<YYYY-MM-DD>/)"
    )


def check_control_folder(landing_dir: Path) -> None:
    refuse_misplaced(
        misnamed_control_files(landing_dir),
        "not a control-totals file (the contract wants _control/<source>/<YYYY-MM-DD>.json)",
    )


def delivery_days(landing_dir: Path) -> list[str]:
    """Every day with a delivery folder of a registered source or a control-totals file, sorted."""
    days = {
        p.name for source in SOURCES for p in _entries(landing_dir / source) if p.is_dir() and is_delivery_day(p.name)
    }
    days |= {
        p.stem for p in landing_dir.glob("_control/*/*.json") if p.parent.name in SOURCES and is_delivery_day(p.stem)
    }
    return sorted(days)
