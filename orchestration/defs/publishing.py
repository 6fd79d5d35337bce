"""The published, BI-safe copy of the marts, behind the gate of every upstream check."""

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orchestration.defs.failure_report import report_failed_publication
from orchestration.defs.gate import evaluate_gate
from orchestration.defs.resources import WAREHOUSE_POOL, Publication, Warehouse
from orchestration.publishing.release import new_release_id, swap_in, write_release
from orchestration.publishing.row_drops import clear_acknowledgements, pending_acknowledgements
from orchestration.reporting.build import REPORT_FILE, clear_failure_report

PUBLISHED_KEY = dg.AssetKey(["published", "marts"])


def _days_covered(con) -> dict:
    row = con.execute(
        "select min(_delivery_date)::varchar, max(_delivery_date)::varchar, count(distinct _delivery_date) "
        "from raw.ingest_log"
    ).fetchall()[0]
    return {"first_delivery_day": row[0], "last_delivery_day": row[1], "delivery_days": row[2]}


def build_published_marts(
    upstream: Sequence[dg.AssetKey], gate_checks: Sequence[dg.AssetCheckKey]
) -> dg.AssetsDefinition:
    """The publish asset, downstream of every mart it copies, gated on `gate_checks` (every check upstream of
    it, which `orchestration.definitions` works out from the assembled graph and passes in)."""
    check_keys = sorted(gate_checks, key=lambda k: (k.asset_key.to_user_string(), k.name))

    @dg.asset(key=PUBLISHED_KEY, deps=upstream, group_name="publish", pool=WAREHOUSE_POOL, kinds={"duckdb", "parquet"})
    def published_marts(context: dg.AssetExecutionContext, warehouse: Warehouse, publication: Publication):
        """Publishes the marts atomically, only if every upstream check passed on today's data."""
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
                    "report": dg.MetadataValue.url(report.as_uri()),
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
        with warehouse.get_connection() as con:
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
            release = write_release(con, publish_dir, release_id, manifest, publication.identifier_salt())
        swap_in(publish_dir, release)
        clear_acknowledgements(publish_dir)
        clear_failure_report(publish_dir)
        return dg.MaterializeResult(
            metadata={
                "release": release_id,
                "path": dg.MetadataValue.path(str(publish_dir / "current" / "omnichannel.duckdb")),
                "tables": dg.MetadataValue.json(release.tables),
                "dagster/row_count": sum(release.tables.values()),
                "report": dg.MetadataValue.url((publish_dir / "current" / REPORT_FILE).resolve().as_uri()),
                "checks_passed": len(gate.passed),
                "checks_warned": dg.MetadataValue.json(gate.warnings),
            }
        )

    return published_marts
