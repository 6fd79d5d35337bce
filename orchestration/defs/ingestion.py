"""One partitioned asset per landing source, plus the sources' own control totals."""

from datetime import UTC, datetime

import dagster as dg

from data_quality.gx_runner import SuiteRunner
from data_quality.suites.raw import raw_suites
from data_quality.validate import validate_batch, validate_batches
from orchestration.defs.partitions import delivery_days
from orchestration.defs.quality import range_check_result, suite_check_result
from orchestration.defs.resources import WAREHOUSE_POOL, DataDocs, LandingZone, Warehouse
from orchestration.ingestion.control import load_control_day
from orchestration.ingestion.fingerprints import drop_fingerprint
from orchestration.ingestion.layout import check_control_folder, check_source_folder, unknown_folders
from orchestration.ingestion.loader import load_days
from orchestration.ingestion.sources import RAW_TABLES, SOURCES, tables_for

RAW_GROUP = "raw"
RAW_SUITE_CHECK = "gx_raw_suite"
RAW_SUITES = raw_suites(t.table for t in RAW_TABLES)


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _range_metadata(loaded: dict) -> dict:
    """The metadata of a range of days loaded in one step: the totals, and each day's counts.

    Dagster records it on every partition of the range, so it carries no `dagster/row_count` (a day's rows would
    read as the whole range's); each day's rows are in the table.
    """
    counts = {day: {**stats.as_metadata(), "rows": rows} for day, (stats, rows) in loaded.items()}
    totals = {name: sum(day[name] for day in counts.values()) for name in next(iter(counts.values()))}
    rows = totals.pop("rows")
    return {
        **totals,
        "rows_in_range": rows,
        "days": dg.MetadataValue.md(_days_table(counts)),
    }


def _days_table(counts: dict[str, dict]) -> str:
    names = list(next(iter(counts.values())))
    lines = ["| day | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {day} | " + " | ".join(str(c[n]) for n in names) + " |" for day, c in counts.items()]
    return "\n".join(lines)


def raw_source_asset(source: str) -> dg.AssetsDefinition:
    """The ingestion asset of one source: every raw table its delivery-day folder fills."""
    tables = tables_for(source)
    specs = [
        dg.AssetSpec(
            key=["raw", t.table],
            description=f"Raw {t.description}: every line of the day's `{source}` files, keyed and flagged for duplicates.",
            group_name=RAW_GROUP,
            kinds={"duckdb"},
        )
        for t in tables
    ]

    checks = [
        dg.AssetCheckSpec(
            RAW_SUITE_CHECK,
            asset=spec.key,
            blocking=True,
            description="great-expectations raw suite on the loaded delivery day",
        )
        for spec in specs
    ]

    @dg.multi_asset(
        name=f"raw_{source}",
        specs=specs,
        check_specs=checks,
        partitions_def=delivery_days,
        # A backfill of a date range is one run, loading its days in turn: DuckDB takes one writer.
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone, data_docs: DataDocs):
        loaded_at = _utc_now()
        # A misnamed day folder's files cannot be dated: this source stops here, the other sources load.
        check_source_folder(landing.root, source)
        unknown = unknown_folders(landing.root)
        runner = SuiteRunner(data_docs.folder)
        days = context.partition_keys
        try:
            with warehouse.get_connection() as con:
                for table in tables:
                    key = dg.AssetKey(["raw", table.table])
                    # The range in one pass and one transaction: a file that cannot be read leaves every day of it
                    # as it was. Each day keeps its own counts, suite outcome and retry.
                    loaded = {}
                    for day, stats in load_days(
                        con, table, landing.root, days, loaded_at, landing.max_line_bytes
                    ).items():
                        context.log.info(f"raw.{table.table} {day}: {stats.as_metadata()}")
                        # What the day holds in raw: its loaded rows and its duplicates (quarantine is apart).
                        loaded[day] = (stats, stats.rows_loaded + stats.duplicates)
                    # The days loaded are validated together once (each day alone only if that fails).
                    outcomes = validate_batches(con, runner, RAW_SUITES[table.table], days, validate_batch)
                    for day, outcome in outcomes.items():
                        if not outcome.success:
                            # Rows that failed their suite are not "loaded": the next run tries the day again.
                            drop_fingerprint(con, table.table, day)
                    if len(days) == 1:
                        (stats, rows), outcome = loaded[days[0]], outcomes[days[0]]
                        metadata = {**stats.as_metadata(), "dagster/row_count": rows}
                        check = suite_check_result(outcome, key, RAW_SUITE_CHECK, data_docs)
                    else:
                        metadata = _range_metadata(loaded)
                        check = range_check_result(outcomes, key, RAW_SUITE_CHECK, data_docs)
                    folders = {"unknown_folders": dg.MetadataValue.json(unknown)}
                    yield dg.MaterializeResult(asset_key=key, metadata={**metadata, **folders})
                    if len(days) > 1:
                        # Dagster records the range's metadata on every day of it: each day then gets its own
                        # materialization after it, with that day's counts (the latest per day, as the UI shows).
                        for day, (stats, rows) in loaded.items():
                            metadata = {**stats.as_metadata(), "dagster/row_count": rows, **folders}
                            yield dg.AssetMaterialization(asset_key=key, partition=day, metadata=metadata)
                    yield check
        finally:
            # Only this step's validation pages: the site's index and suite pages are built once per transform run.
            runner.render_pages()

    _ingest.__doc__ = f"Loads delivery days of `{source}` exports into raw, quarantining bad lines."
    return _ingest


raw_source_assets = [raw_source_asset(source) for source in SOURCES]


@dg.asset(
    key=["raw", "control_totals"],
    group_name=RAW_GROUP,
    partitions_def=delivery_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
)
def control_totals(context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone):
    """The source systems' own daily totals (`_control`), the yardstick of sync accuracy."""
    check_control_folder(landing.root)
    # Once per run, here: the landing zone's own asset (each source's materialization carries the list too).
    unknown = unknown_folders(landing.root)
    if unknown:
        context.log.warning(f"landing folders the contract does not know, not read: {', '.join(unknown)}")
    loaded_at = _utc_now()
    with warehouse.get_connection() as con:
        # One day after the other, each in its own transaction, as runs of one day each would.
        metrics = sum(load_control_day(con, landing.root, day, loaded_at) for day in context.partition_keys)
    return dg.MaterializeResult(
        metadata={
            "metrics": metrics,
            "dagster/row_count": metrics,
            "unknown_folders": dg.MetadataValue.json(unknown),
        }
    )


# Written by every raw asset as it loads (ingest_log) and by `omnichannel forget` (erased_daily_totals), never by
# an asset of their own; the dbt step records their row counts as observations.
bookkeeping_assets = [
    dg.AssetSpec(
        key=["raw", "ingest_log"],
        description="Per source table and delivery day: files, lines read, rows loaded, duplicates and quarantined "
        "lines, written by each raw asset as it loads (the counts reconcile: nothing is lost).",
        group_name=RAW_GROUP,
        kinds={"duckdb"},
        deps=[dg.AssetKey(["raw", t.table]) for t in RAW_TABLES],
    ),
    dg.AssetSpec(
        key=["raw", "erased_daily_totals"],
        description="Events `omnichannel forget` erased, per source, event day and metric, so sync accuracy still "
        "reconciles with the sources' control totals (absent until someone is forgotten).",
        group_name=RAW_GROUP,
        kinds={"duckdb"},
    ),
]
