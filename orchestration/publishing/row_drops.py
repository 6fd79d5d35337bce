"""How much each mart shrank since the current publication, and the acknowledgements that let a known drop through.

A mart that loses most of its rows between two publications (48 conversions, then 0) is a reason to stop whatever
caused it: a lost source, a bad erasure, a broken model. The current publication's manifest holds each table's
row count; a drop of more than the allowed share (`OMNI_PUBLISH_MAX_ROW_DROP`, 0.5 by default) fails a blocking
check. A user who knows a drop is right (a forget of a big customer, a source retired on purpose) acknowledges it
for one mart with `omnichannel acknowledge-drop MART --reason ...`: the acknowledgement names the release it was
made against, holds only until the next publication, which records it in its manifest, and is void once any other
release is published.
"""

import getpass
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_MAX_DROP = 0.5
ACKNOWLEDGEMENTS = "acknowledged_drops.json"


@dataclass(frozen=True)
class RowDrop:
    """One mart's row count now against the current publication's."""

    mart: str
    rows: int
    published_rows: int | None  # None: not published yet
    max_drop: float
    acknowledgement: dict | None = None

    @property
    def share(self) -> float:
        """The share of the published rows gone (0 when the mart grew or was never published)."""
        if not self.published_rows or self.rows >= self.published_rows:
            return 0.0
        return (self.published_rows - self.rows) / self.published_rows

    @property
    def too_large(self) -> bool:
        return self.share > self.max_drop

    @property
    def passed(self) -> bool:
        return not self.too_large or self.acknowledgement is not None

    def describe(self) -> str:
        if self.published_rows is None:
            return f"{self.mart}: {self.rows} rows, not published before"
        text = (
            f"{self.mart}: {self.rows} rows, {self.published_rows} published, "
            f"{self.share:.0%} fewer (at most {self.max_drop:.0%} allowed)"
        )
        if self.too_large and self.acknowledgement is not None:
            text += f"; acknowledged by {self.acknowledgement['by']}: {self.acknowledgement['reason']}"
        elif self.too_large:
            text += f"; if that is right, run `omnichannel acknowledge-drop {self.mart} --reason ...`"
        return text


def parse_max_drop(value: str | float) -> float:
    """The allowed drop as a share in [0, 1]; ValueError naming the setting otherwise."""
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"OMNI_PUBLISH_MAX_ROW_DROP must be a share between 0 and 1, not {value!r}") from None
    if not 0 <= share <= 1:
        raise ValueError(f"OMNI_PUBLISH_MAX_ROW_DROP must be a share between 0 and 1, not {value!r}")
    return share


def current_manifest(publish_dir: Path) -> dict | None:
    path = Path(publish_dir) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None


def _read_acknowledgements(publish_dir: Path) -> list[dict]:
    path = Path(publish_dir) / ACKNOWLEDGEMENTS
    return json.loads(path.read_text()) if path.exists() else []


def pending_acknowledgements(publish_dir: Path) -> dict[str, dict]:
    """The acknowledgements made against the current publication, by mart (the latest one of each)."""
    manifest = current_manifest(publish_dir)
    if manifest is None:
        return {}
    return {a["mart"]: a for a in _read_acknowledgements(publish_dir) if a["against_release"] == manifest["release_id"]}


def row_drop(mart: str, rows: int, publish_dir: Path, max_drop: float) -> RowDrop:
    manifest = current_manifest(publish_dir)
    published = (manifest or {}).get("tables", {}).get(mart)
    return RowDrop(mart, rows, published, max_drop, pending_acknowledgements(publish_dir).get(mart))


def acknowledge(publish_dir: Path, marts: list[str], reason: str) -> list[dict]:
    """Record that the next publication may publish these marts however much they shrank; returns the records.

    All or none: LookupError when nothing is published to compare with, ValueError for a mart the current
    publication does not have or a blank reason.
    """
    manifest = current_manifest(publish_dir)
    if manifest is None:
        raise LookupError(f"nothing is published in {publish_dir} yet: there is no drop to acknowledge")
    tables = manifest.get("tables", {})
    unknown = [mart for mart in marts if mart not in tables]
    if unknown:
        raise ValueError(
            f"no mart {', '.join(map(repr, unknown))} in the current publication (it has {', '.join(sorted(tables))})"
        )
    if not reason.strip():
        raise ValueError("say why the drop is right with --reason")
    now = datetime.now(UTC).isoformat()
    records = [
        {
            "mart": mart,
            "reason": reason.strip(),
            "by": getpass.getuser(),
            "acknowledged_at": now,
            "against_release": manifest["release_id"],
            "published_rows": tables[mart],
        }
        for mart in dict.fromkeys(marts)
    ]
    kept = [
        a
        for a in _read_acknowledgements(publish_dir)
        if a["against_release"] == manifest["release_id"] and a["mart"] not in marts
    ]
    path = Path(publish_dir) / ACKNOWLEDGEMENTS
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps([*kept, *records], indent=2, sort_keys=True))
    os.replace(temporary, path)
    return records


def clear_acknowledgements(publish_dir: Path) -> None:
    """After a publication: every acknowledgement was for the release it replaced, and is in its manifest."""
    (Path(publish_dir) / ACKNOWLEDGEMENTS).unlink(missing_ok=True)
