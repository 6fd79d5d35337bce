"""Asset checks on the dbt models: great-expectations suites and sync accuracy (blocking), cross-system agreement
(a warning unless the user makes it block)."""

from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd

from data_quality.cross_system_agreement import agreement_flags, describe
from data_quality.gx_runner import SuiteOutcome, SuiteRunner
from data_quality.suites.marts import contact_policy_suites, mart_suites, metrics_suites
from data_quality.suites.staging import STAGING_SUITES
from data_quality.sync_accuracy import sync_failures
from data_quality.validate import validate_batch
from orchestration.channels import registry
from orchestration.defs.resources import DataDocs, Warehouse
from orchestration.privacy.pii import may_identify
from orchestration.reporting.previews import sync_accuracy_markdown

GX_CHECK = "gx_suite"
SYNC_CHECK = "sync_accuracy"
SYNC_ASSET = dg.AssetKey(["marts", "agg_sync_accuracy"])
AGREEMENT_CHECK = "cross_system_agreement"
AGREEMENT_ASSET = dg.AssetKey(["marts", "agg_cross_system_agreement"])


MART_SUITES = mart_suites(
    engaged_channels=set(registry().engaged_channel_by_source().values()),
    consent_channels=registry().consent_channels(),
    identifier_types=registry().identifier_types,
    touchpoint_channels=registry().touchpoint_channels(),
    send_channels=list(registry().send_touches()),
)
# The marts under marts/metrics and marts/compliance (their suites come from data_quality.suites.marts.metrics_suites
# and contact_policy_suites): both sit downstream of the touchpoint, purchase and identity marts.
METRICS_MARTS = set(metrics_suites(registry().touchpoint_channels())) | set(
    contact_policy_suites(registry().send_touches(), registry().consent_channels())
)
SUITES = {("staging", model): suite for model, suite in STAGING_SUITES.items()} | {
    ("marts", model): suite for model, suite in MART_SUITES.items()
}


def _failing_examples_markdown(outcome: SuiteOutcome) -> str:
    """One row per failed expectation: where, how many, and examples unless they may name a person."""
    lines = ["| expectation | column | unexpected | examples |", "|---|---|---|---|"]
    for f in outcome.failures:
        examples = "(in Data Docs)" if may_identify(f.column, f.examples) else ", ".join(map(str, f.examples[:5]))
        cells = [f.expectation, f.column or "", "" if f.unexpected_count is None else str(f.unexpected_count), examples]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ")[:120] for c in cells) + " |")
    return "\n".join(lines)


def _page_url(outcome: SuiteOutcome, docs: DataDocs | None) -> str | None:
    """The http link to the validation's Data Docs page, if `docs` has a site serving it."""
    if outcome.page is None or docs is None:
        return None
    return docs.url_of(Path(outcome.page))


def suite_check_result(
    outcome: SuiteOutcome, asset_key: dg.AssetKey, check_name: str, docs: DataDocs | None = None
) -> dg.AssetCheckResult:
    """A Dagster check result whose metadata shows each failed expectation with examples, and links to the
    validation's own Data Docs page (the site's index needs scripts from the internet to list anything) when
    `docs` has a site serving it (a file:// link would not open from the UI)."""
    metadata = {
        "batch": outcome.batch,
        "rows": outcome.rows,
        "expectations": outcome.evaluated,
        # Examples that may name a person go only to Data Docs, which `forget` deletes, never to the event log.
        "failures": dg.MetadataValue.json(
            [f.describe(with_examples=not may_identify(f.column, f.examples)) for f in outcome.failures]
        ),
        "data_docs": dg.MetadataValue.path(str(outcome.page)),
    }
    if (url := _page_url(outcome, docs)) is not None:
        metadata["data_docs_page"] = dg.MetadataValue.url(url)
    if outcome.failures:
        metadata["failing_examples"] = dg.MetadataValue.md(_failing_examples_markdown(outcome))
    return dg.AssetCheckResult(asset_key=asset_key, check_name=check_name, passed=outcome.success, metadata=metadata)


def range_check_result(
    outcomes: dict[str, SuiteOutcome], asset_key: dg.AssetKey, check_name: str, docs: DataDocs | None = None
) -> dg.AssetCheckResult:
    """One check result for a suite run on each day of a range (one step loads them all): it passes only if
    every day passed, and names the days that failed, each with its failed expectations and Data Docs page."""
    failed = {day: outcome for day, outcome in outcomes.items() if not outcome.success}
    metadata = {
        "batch": f"{min(outcomes)}..{max(outcomes)}",
        "days": len(outcomes),
        "rows": sum(outcome.rows for outcome in outcomes.values()),
        "expectations": sum(outcome.evaluated for outcome in outcomes.values()),
        "failed_days": dg.MetadataValue.json(sorted(failed)),
        "failures": dg.MetadataValue.json(
            {
                day: [f.describe(with_examples=not may_identify(f.column, f.examples)) for f in outcome.failures]
                for day, outcome in sorted(failed.items())
            }
        ),
        "data_docs": dg.MetadataValue.json({day: str(outcome.page) for day, outcome in sorted(outcomes.items())}),
    }
    urls = {day: url for day, outcome in sorted(outcomes.items()) if (url := _page_url(outcome, docs)) is not None}
    if urls:
        # One link a day, as markdown: the UI renders a json value's URLs as text.
        metadata["data_docs_pages"] = dg.MetadataValue.md("\n".join(f"- [{day}]({url})" for day, url in urls.items()))
    if failed:
        metadata["failing_examples"] = dg.MetadataValue.md(
            "\n\n".join(
                f"**{day}**\n\n{_failing_examples_markdown(outcome)}" for day, outcome in sorted(failed.items())
            )
        )
    return dg.AssetCheckResult(asset_key=asset_key, check_name=check_name, passed=not failed, metadata=metadata)


def _batch_key(con, suite) -> str:
    """The bounded batch a suite validates: the latest delivery day, or the whole of a small aggregate."""
    if suite.batch_column is None:
        return "all"
    latest = con.execute(f"select max({suite.batch_column})::varchar from {suite.table}").fetchall()[0][0]
    return latest or date.min.isoformat()


def _gx_suite_check(name: str, keys: list[tuple[str, ...]], doc: str) -> dg.AssetChecksDefinition:
    """One check op running the GX suites of `keys` on their latest batch, then building the Data Docs site once."""

    @dg.multi_asset_check(
        name=name,
        specs=[
            dg.AssetCheckSpec(
                GX_CHECK,
                asset=dg.AssetKey(list(key)),
                blocking=True,
                description="great-expectations suite on the latest batch",
            )
            for key in keys
        ],
        can_subset=True,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, data_docs: DataDocs):
        runner = SuiteRunner(data_docs.folder)
        try:
            with warehouse.get_connection() as con:
                for key in context.selected_asset_check_keys:
                    suite = SUITES[tuple(key.asset_key.path)]
                    outcome = validate_batch(con, runner, suite, _batch_key(con, suite))
                    yield suite_check_result(outcome, key.asset_key, GX_CHECK, data_docs)
        finally:
            runner.build_docs()

    _check.__doc__ = doc
    return _check


# The metrics marts sit downstream of the purchase and journey marts. One op for every suite would be skipped
# whole when a blocking check stops one of those (a row-count drop, say), leaving every other mart unchecked; so
# the metrics and contact-policy marts' suites run in an op of their own.
_METRICS = [key for key in SUITES if key[0] == "marts" and key[1] in METRICS_MARTS]
gx_suites = _gx_suite_check(
    "gx_suites", [key for key in SUITES if key not in _METRICS], "Runs the staging and core mart GX suites."
)
gx_metrics_suites = _gx_suite_check(
    "gx_metrics_suites", _METRICS, "Runs the metrics and contact-policy marts' GX suites."
)


@dg.asset_check(
    asset=SYNC_ASSET,
    name=SYNC_CHECK,
    blocking=True,
    description="control totals agree with the warehouse for every settled source and day",
)
def sync_accuracy(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Fails, naming each source and day, when a settled day disagrees with its source's control totals."""
    with warehouse.get_connection() as con:
        failures, summary = sync_failures(con)
        by_source_day = sync_accuracy_markdown(con)
    examples = {"failing_examples": dg.MetadataValue.md(pd.DataFrame(failures[:20]).to_markdown(index=False))}
    return dg.AssetCheckResult(
        passed=not failures,
        metadata={
            "failing": dg.MetadataValue.json(failures[:50]),
            "failing_source_days": sorted({f"{f['source']} {f['event_date']}" for f in failures}),
            "sync_accuracy": dg.MetadataValue.md(by_source_day),
            **(examples if failures else {}),
            **summary,
        },
        description=(
            "; ".join(sorted({f"{f['source']} {f['event_date']}" for f in failures}))[:500]
            or "every settled source and day agrees with its control totals"
        ),
    )


@dg.asset_check(
    asset=AGREEMENT_ASSET,
    name=AGREEMENT_CHECK,
    blocking=True,
    description="the channels agree with the CRM on addresses and opt-outs; warns, or fails when the "
    "dbt var cross_system_agreement_severity is error",
)
def cross_system_agreement(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Warns, naming each channel, day and metric past its threshold; fails instead where the mart says error."""
    with warehouse.get_connection() as con:
        flags, summary, rates = agreement_flags(con)
    blocking = any(f["status"] == "error" for f in flags)
    return dg.AssetCheckResult(
        passed=not flags,
        # A flag is an operational warning unless the user made it block (the mart's status carries the dbt var).
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        metadata={
            "flagged": dg.MetadataValue.json(flags[:50]),
            **(
                {"failing_examples": dg.MetadataValue.md(pd.DataFrame(flags[:20]).to_markdown(index=False))}
                if flags
                else {}
            ),
            "flagged_channel_days": sorted({f"{f['channel']} {f['event_date']}" for f in flags}),
            "settled_rates": dg.MetadataValue.json(rates),
            **summary,
        },
        description=(
            "; ".join(describe(f) for f in flags)[:500]
            or "every settled channel and day agrees with the CRM within its thresholds"
        ),
    )
