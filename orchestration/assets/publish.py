"""The published, BI-safe copy of the marts, behind the gate of every upstream check."""
from datetime import datetime, timezone

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import settings
from orchestration.assets.raw import WAREHOUSE_POOL
from orchestration.publishing.gate import evaluate_gate, upstream_check_keys
from orchestration.publishing.release import new_release_id, swap_in, write_release
from orchestration.publishing.salt import publish_salt

PUBLISHED_KEY = dg.AssetKey(["published", "marts"])


def _days_covered(con) -> dict:
    row = con.execute(
        "select min(_delivery_date)::varchar, max(_delivery_date)::varchar, count(distinct _delivery_date) "
        "from raw.ingest_log").fetchall()[0]
    return {"first_delivery_day": row[0], "last_delivery_day": row[1], "delivery_days": row[2]}


def build_published_marts(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """The publish asset, downstream of every mart it copies."""

    @dg.asset(key=PUBLISHED_KEY, deps=upstream, group_name="publish", pool=WAREHOUSE_POOL, kinds={"duckdb", "parquet"})
    def published_marts(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
        """Publishes the marts to OMNI_PUBLISH_DIR atomically, only if every upstream check passed on today's data."""
        # The whole code location's graph (runs launched in-process carry no repository on their context).
        from orchestration.definitions import defs

        check_keys = upstream_check_keys(defs.resolve_asset_graph(), PUBLISHED_KEY)
        gate = evaluate_gate(context.instance, check_keys)
        if not gate.open:
            raise dg.Failure(
                description=f"not published, the last publication is untouched: {gate.summary()}",
                metadata={"failed": gate.failed, "unchecked": gate.unchecked},
            )
        if gate.warned:
            context.log.warning(f"publishing with {len(gate.warned)} warning(s): " + "; ".join(
                f"{name}: {what}" for name, what in gate.warnings.items()))
        publish_dir = settings.publish_dir()
        publish_dir.mkdir(parents=True, exist_ok=True)
        release_id = new_release_id(context.run.run_id)
        with warehouse.get_connection() as con:
            manifest = {
                "published_at": datetime.now(timezone.utc).isoformat(),
                "run_id": context.run.run_id,
                **_days_covered(con),
                "checks": {"passed": gate.passed, "warned": gate.warned,
                           "warnings": [{"check": name, "what": what} for name, what in gate.warnings.items()]},
            }
            release = write_release(con, publish_dir, release_id, manifest, publish_salt(settings.home_dir()))
        swap_in(publish_dir, release)
        return dg.MaterializeResult(metadata={
            "release": release_id,
            "path": dg.MetadataValue.path(str(publish_dir / "current" / "omnichannel.duckdb")),
            "tables": dg.MetadataValue.json(release.tables),
            "checks_passed": len(gate.passed),
            "checks_warned": dg.MetadataValue.json(gate.warnings),
        })

    return published_marts
