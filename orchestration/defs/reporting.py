"""The release report: the published marts drawn into `current/report.html`, downstream of the gated publication."""

import json
from collections.abc import Sequence

import dagster as dg

from orchestration.defs.gate import latest_check_outcomes
from orchestration.defs.publishing import PUBLISHED_KEY, UNCHANGED, report_links
from orchestration.defs.resources import Publication
from orchestration.reporting.build import REPORT_FILE, write_release_report

REPORT_KEY = dg.AssetKey(["published", "report"])


def _published_nothing_new(context: dg.AssetExecutionContext) -> bool:
    """Did this run's publication leave the current release as it was (`published/marts` metadata `unchanged`)?"""
    records = context.instance.fetch_materializations(PUBLISHED_KEY, limit=1).records
    return (
        bool(records)
        and records[0].run_id == context.run.run_id
        and UNCHANGED in records[0].asset_materialization.metadata
    )


def build_release_report(gate_checks: Sequence[dg.AssetCheckKey]) -> dg.AssetsDefinition:
    """The report asset; `gate_checks` are the publication's checks, whose outcomes the report shows (the
    lifetime-value back-test among them)."""
    check_keys = list(gate_checks)

    @dg.asset(key=REPORT_KEY, deps=[PUBLISHED_KEY], group_name="publish", kinds={"html", "plotly"})
    def release_report(context: dg.AssetExecutionContext, publication: Publication) -> dg.MaterializeResult:
        """Draws the current release's marts as charts in one self-contained HTML page that opens offline."""
        release = (publication.folder / "current").resolve()
        if _published_nothing_new(context) and (release / REPORT_FILE).exists():
            # A release is left as published: its report stays the one drawn then, with the check outcomes its
            # manifest lists (and that `forget` redraws it from), not this run's.
            context.log.info(f"release {release.name} stays current: its report stays as drawn at its publication")
            return dg.MaterializeResult(
                metadata={
                    UNCHANGED: f"release {release.name} stays current",
                    "release": release.name,
                    **report_links(publication, release.name),
                    "path": dg.MetadataValue.path(str(publication.folder.resolve() / "current" / REPORT_FILE)),
                }
            )
        manifest = json.loads((release / "manifest.json").read_text())
        report = write_release_report(release, manifest, latest_check_outcomes(context.instance, check_keys))
        if report.missing:
            context.log.info(f"not in this release, so not drawn: {', '.join(report.missing)}")
        return dg.MaterializeResult(
            metadata={
                "release": release.name,
                **report_links(publication, release.name),
                "path": dg.MetadataValue.path(str(publication.folder.resolve() / "current" / report.path.name)),
                "charts": report.charts,
                "sections": dg.MetadataValue.json({s.title: len(s.charts) for s in report.sections}),
                "not_published": dg.MetadataValue.json(report.missing),
                "size_bytes": report.path.stat().st_size,
            }
        )

    return release_report
