"""The published, BI-safe copy of the marts, behind the gate of every upstream check."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orchestration.defs.failure_report import report_failed_publication
from orchestration.defs.gate import evaluate_gate
from orchestration.defs.resources import WAREHOUSE_POOL, Publication, Warehouse
from orchestration.publishing.release import (
    new_release_id,
    prune_releases,
    release_fingerprint,
    swap_in,
    unchanged_release,
    write_release,
)
from orchestration.publishing.row_drops import clear_acknowledgements, pending_acknowledgements
from orchestration.reporting.build import REPORT_FILE, clear_failure_report

PUBLISHED_KEY = dg.AssetKey(["published", "marts"])
# The metadata entry of a publication that wrote nothing new (the current release holds these very marts).
UNCHANGED = "unchanged"


def report_links(publication: Publication, release_id: str) -> dict:
    """Links to a release's report the Dagster UI can follow: the release's own file (`report`, which stays that
    release's after the next swaps `current`), the current one (`current_report`), and its path to copy. No http
    link without a docs site (`OMNI_DOCS_URL`), and never a file:// one: a browser will not open it from the UI."""
    folder = publication.folder.resolve()
    release_report = folder / "releases" / release_id / REPORT_FILE
    links = {
        "report": publication.url_of(release_report),
        "current_report": publication.url_of(folder / "current" / REPORT_FILE),
    }
    return {
        **{name: dg.MetadataValue.url(url) for name, url in links.items() if url is not None},
        "report_path": dg.MetadataValue.path(str(release_report)),
    }


def _days_covered(con) -> dict:
    row = con.execute(
        "select min(_delivery_date)::varchar, max(_delivery_date)::varchar, count(distinct _delivery_date) "
        "from raw.ingest_log"
    ).fetchall()[0]
    return {"first_delivery_day": row[0], "last_delivery_day": row[1], "delivery_days": row[2]}


def _unchanged(
    context: dg.AssetExecutionContext, publication: Publication, release_id: str, keep: int, gate
) -> dg.MaterializeResult:
    """The gate is open and the current release already holds these marts, copied the same way: nothing is written.

    What a publication does besides writing still holds: the report of a refused publication goes (the gate is
    open now), and old releases are pruned. Pending acknowledgements stay: no release recorded them, and they were
    made against the release that stays current.
    """
    publish_dir = publication.folder
    prune_releases(publish_dir, keep)
    clear_failure_report(publish_dir)
    said = f"release {release_id} stays current"
    context.log.info(f"nothing new to publish: the marts are as release {release_id} holds them; {said}")
    manifest = json.loads((publish_dir / "current" / "manifest.json").read_text())
    return dg.MaterializeResult(
        metadata={
            UNCHANGED: said,
            "release": release_id,
            "path": dg.MetadataValue.path(str(publish_dir / "current" / "omnichannel.duckdb")),
            "tables": dg.MetadataValue.json(manifest["tables"]),
            "dagster/row_count": sum(manifest["tables"].values()),
            **report_links(publication, release_id),
            "checks_passed": len(gate.passed),
            "checks_warned": dg.MetadataValue.json(gate.warnings),
        }
    )


def build_published_marts(
    upstream: Sequence[dg.AssetKey], gate_checks: Sequence[dg.AssetCheckKey]
) -> dg.AssetsDefinition:
    """The publish asset, downstream of every mart it copies, gated on `gate_checks` (every check upstream of
    it, which `orchestration.definitions` works out from the assembled graph and passes in)."""
    check_keys = sorted(gate_checks, key=lambda k: (k.asset_key.to_user_string(), k.name))

    @dg.asset(key=PUBLISHED_KEY, deps=upstream, group_name="publish", pool=WAREHOUSE_POOL, kinds={"duckdb", "parquet"})
    def published_marts(context: dg.AssetExecutionContext, warehouse: Warehouse, publication: Publication):
        """Publishes the marts atomically, only if every upstream check passed on today's data."""
        try:
            keep = publication.keep
        except ValueError as error:
            raise dg.Failure(description=str(error)) from None
        gate = evaluate_gate(context.instance, check_keys)
        if not gate.open:
            # No connection to the warehouse is open yet: the report reads it, read-only.
            report = report_failed_publication(context.instance, check_keys, Path(warehouse.path), publication.folder)
            context.log.info(f"what failed: {report}")
            raise dg.Failure(
                description=f"not published, the last publication is untouched: {gate.summary()}",
                metadata={
                    "failed": gate.failed,
                    "unchecked": gate.unchecked,
                    **(
                        {"report": dg.MetadataValue.url(url)} if (url := publication.url_of(report)) is not None else {}
                    ),
                    "report_path": dg.MetadataValue.path(str(report)),
                },
            )
        if gate.warned:
            context.log.warning(
                f"publishing with {len(gate.warned)} warning(s): "
                + "; ".join(f"{name}: {what}" for name, what in gate.warnings.items())
            )
        publish_dir = publication.folder
        publish_dir.mkdir(parents=True, exist_ok=True)
        release_id = new_release_id(context.run.run_id)
        # Drops acknowledged against the release this one replaces: recorded here, then spent.
        acknowledged = list(pending_acknowledgements(publish_dir).values())
        salt = publication.identifier_salt()
        with warehouse.get_connection() as con:
            fingerprint = release_fingerprint(con, salt)
            unchanged = unchanged_release(publish_dir, fingerprint)
            if unchanged is not None:
                return _unchanged(context, publication, unchanged, keep, gate)
            manifest = {
                "published_at": datetime.now(UTC).isoformat(),
                "run_id": context.run.run_id,
                **_days_covered(con),
                "checks": {
                    "passed": gate.passed,
                    "warned": gate.warned,
                    "warnings": [{"check": name, "what": what} for name, what in gate.warnings.items()],
                },
                "acknowledged_drops": acknowledged,
            }
            release = write_release(con, publish_dir, release_id, manifest, salt, fingerprint)
        swap_in(publish_dir, release, keep)
        clear_acknowledgements(publish_dir)
        clear_failure_report(publish_dir)
        return dg.MaterializeResult(
            metadata={
                "release": release_id,
                "path": dg.MetadataValue.path(str(publish_dir / "current" / "omnichannel.duckdb")),
                "tables": dg.MetadataValue.json(release.tables),
                "dagster/row_count": sum(release.tables.values()),
                **report_links(publication, release_id),
                "checks_passed": len(gate.passed),
                "checks_warned": dg.MetadataValue.json(gate.warnings),
            }
        )

    return published_marts
