"""The release report (`current/report.html`), and the report of a publication that failed (`failed/report.html`).

Both read DuckDB read-only and write one HTML file; nothing here knows Dagster: the caller hands over the
release's manifest and the checks' latest outcomes as plain values.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.reporting.marts import Marts
from orchestration.reporting.render import render, write_atomically
from orchestration.reporting.sections import SECTIONS, CheckOutcome, Section, checks_table, sync_accuracy

REPORT_FILE = "report.html"
# The check outcomes a release's report drew (the back-test among them), kept so the report can be drawn again
# from the release alone (after `forget` scrubs it).
REPORT_CHECKS_FILE = "report_checks.json"
FAILED_FOLDER = "failed"


@dataclass(frozen=True)
class Report:
    path: Path
    sections: list[Section]

    @property
    def charts(self) -> int:
        return sum(len(s.charts) for s in self.sections)

    @property
    def missing(self) -> list[str]:
        return sorted({m for s in self.sections for m in s.missing})


def release_report_sections(con: duckdb.DuckDBPyConnection, checks: Sequence[CheckOutcome] = ()) -> list[Section]:
    marts = Marts(con)
    return [build(marts, checks) for build in SECTIONS]


def write_release_report(release: Path, manifest: dict, checks: Sequence[CheckOutcome] = ()) -> Report:
    """Draw the release's marts (its own `omnichannel.duckdb`, read-only) into `<release>/report.html`."""
    with duckdb.connect(str(release / "omnichannel.duckdb"), read_only=True) as con:
        sections = release_report_sections(con, checks)
    warned = manifest.get("checks", {}).get("warnings", [])
    facts = [
        ("release", str(manifest.get("release_id", release.name))),
        ("published at", str(manifest.get("published_at", ""))),
        (
            "delivery days",
            f"{manifest.get('first_delivery_day', '?')} .. {manifest.get('last_delivery_day', '?')} "
            f"({manifest.get('delivery_days', '?')} days)",
        ),
        ("checks", f"{len(manifest.get('checks', {}).get('passed', []))} passed, {len(warned)} warned"),
        ("identifiers", str(manifest.get("identifiers", ""))),
    ]
    banner = None
    if warned:
        banner = ("warned", "Published with warnings: " + "; ".join(f"{w['check']}: {w['what']}" for w in warned))
    path = release / REPORT_FILE
    write_atomically(path, render("Omnichannel release report", facts, sections, banner))
    write_atomically(
        release / REPORT_CHECKS_FILE, json.dumps([asdict(c) for c in checks], indent=1, sort_keys=True, default=str)
    )
    return Report(path, sections)


def redraw_release_report(release: Path) -> Report:
    """The release's report drawn again from its own file, manifest and recorded check outcomes."""
    recorded = release / REPORT_CHECKS_FILE
    checks = [CheckOutcome(**c) for c in json.loads(recorded.read_text())] if recorded.exists() else []
    return write_release_report(release, json.loads((release / "manifest.json").read_text()), checks)


def _examples(check: CheckOutcome) -> pd.DataFrame | None:
    """The failing examples a check recorded (a list of records in its metadata), as one table."""
    for key in ("failing", "failures", "flagged"):
        rows = check.metadata.get(key)
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            return pd.DataFrame(rows[:50]).astype(str)
    return None


def write_failure_report(
    publish_dir: Path,
    con: duckdb.DuckDBPyConnection,
    summary: str,
    unchecked: Sequence[str],
    checks: Sequence[CheckOutcome],
    attempted_at: str,
) -> Report:
    """What stopped a publication, in `<publish_dir>/failed/report.html`, beside the last good release's report.

    `con` is the working warehouse (what the checks looked at); its sync accuracy is drawn as in a release.
    """
    failed = [c for c in checks if not c.passed and c.severity == "ERROR"]
    what = Section(
        "failed",
        "What stopped the publication",
        "Every check upstream of the published marts must pass on the current data. These did not; the last "
        "good release is untouched.",
    )
    what.tables.append(("Checks that failed or warned", checks_table(checks)))
    if unchecked:
        what.tables.append(
            ("Checks not run on the current data", pd.DataFrame({"check": sorted(unchecked)}, columns=["check"]))
        )
    for check in failed:
        examples = _examples(check)
        if examples is not None:
            what.tables.append((f"{check.asset}:{check.name}: failing examples", examples))
    sections = [what, sync_accuracy(Marts(con))]
    last_good = publish_dir / "current" / REPORT_FILE
    links = [("the last good release's report", f"../current/{REPORT_FILE}")] if last_good.exists() else []
    facts = [("attempted at", attempted_at), ("gate", summary)]
    path = publish_dir / FAILED_FOLDER / REPORT_FILE
    write_atomically(
        path,
        render(
            "Omnichannel: NOT published",
            facts,
            sections,
            ("failed", f"Not published: {summary}. The last publication is untouched."),
            links,
        ),
    )
    return Report(path, sections)


def clear_failure_report(publish_dir: Path) -> None:
    """A publication that went through makes the last failure's report history (Dagster's run log keeps it)."""
    (publish_dir / FAILED_FOLDER / REPORT_FILE).unlink(missing_ok=True)
