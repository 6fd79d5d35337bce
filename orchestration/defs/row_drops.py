"""Blocking checks that stop a publication when a mart lost most of its published rows."""

from collections.abc import Sequence

import dagster as dg

from orchestration.defs.resources import Publication, Warehouse
from orchestration.publishing.row_drops import row_drop
from orchestration.warehouse import tables_in

ROW_DROP_CHECK = "row_count_drop"


def build_row_drop_checks(marts: Sequence[dg.AssetKey]) -> dg.AssetChecksDefinition:
    """One blocking check per mart, comparing its row count with the current publication's manifest."""

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                ROW_DROP_CHECK,
                asset=key,
                blocking=True,
                description="no more than the allowed share of the published rows lost, unless acknowledged",
            )
            for key in marts
        ],
        can_subset=True,
    )
    def mart_row_drops(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, publication: Publication):
        """Fails each mart that lost more than the allowed share of its published rows, unless acknowledged."""
        max_drop = publication.max_drop
        with warehouse.get_connection() as con:
            for key in context.selected_asset_check_keys:
                schema, table = key.asset_key.path[0], key.asset_key.path[-1]
                if table not in tables_in(con, schema):
                    yield dg.AssetCheckResult(
                        asset_key=key.asset_key,
                        check_name=ROW_DROP_CHECK,
                        passed=False,
                        description=f"{schema}.{table} does not exist",
                    )
                    continue
                rows = con.execute(f"select count(*) from {schema}.{table}").fetchall()[0][0]
                drop = row_drop(table, rows, publication.folder, max_drop)
                yield dg.AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=ROW_DROP_CHECK,
                    passed=drop.passed,
                    description=drop.describe(),
                    metadata={
                        "rows": rows,
                        "published_rows": drop.published_rows,
                        "drop_share": round(drop.share, 4),
                        "max_drop_share": max_drop,
                        "acknowledged": dg.MetadataValue.json(drop.acknowledgement),
                    },
                )

    return mart_row_drops
