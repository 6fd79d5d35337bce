"""Runs great-expectations 1.x suites on bounded batches (a partition as a dataframe) and builds Data Docs.

GX's SQL datasource on DuckDB was seen failing with MetricResolutionError, so every batch is handed over as a
pandas dataframe read by DuckDB: bounded, and the same code path for raw, staging and marts.
"""
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import great_expectations as gx
import pandas as pd

DOCS_SITE = "omnichannel"
EXAMPLES = 5


@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str
    column: str | None
    unexpected_count: int | None
    examples: list

    def describe(self, with_examples: bool = True) -> str:
        """One line; `with_examples=False` leaves the offending values out (they may name a person)."""
        where = f" on {self.column}" if self.column else ""
        count = f": {self.unexpected_count} unexpected" if self.unexpected_count is not None else ""
        if not self.examples:
            sample = ""
        elif with_examples:
            sample = f", e.g. {self.examples}"
        else:
            sample = " (examples only in Data Docs)"
        return f"{self.expectation}{where}{count}{sample}"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    batch: str
    rows: int
    evaluated: int
    failures: list[ExpectationFailure] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failures


class SuiteRunner:
    """One ephemeral GX context per run; every validation lands on one Data Docs site under `docs_dir`."""

    def __init__(self, docs_dir: Path):
        # GX phones home unless told not to, and logs progress bars and deprecation chatter at INFO/WARNING;
        # the outcome is what matters here. Set when a runner is made, not when this module is imported.
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self.docs_dir = Path(docs_dir)
        self.context = gx.get_context(mode="ephemeral")
        self.context.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(self.docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        self._datasource = self.context.data_sources.add_pandas("warehouse_batches")

    def validate(self, suite_name: str, batch_name: str, frame: pd.DataFrame,
                 expectations: list[gx.expectations.Expectation]) -> SuiteOutcome:
        """Validate one batch against one suite; failures carry examples of the offending values."""
        # Expectations are bound to their suite once added: pass freshly built ones each call.
        name = f"{suite_name}.{batch_name}"
        asset = self._datasource.add_dataframe_asset(name=name)
        batch = asset.add_batch_definition_whole_dataframe(batch_name)
        suite = self.context.suites.add(gx.ExpectationSuite(name=name))
        for expectation in expectations:
            suite.add_expectation(expectation)
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite))
        checkpoint = self.context.checkpoints.add(gx.Checkpoint(
            name=name, validation_definitions=[definition],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES},
        ))
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        failures = []
        evaluated = 0
        for run_result in result.run_results.values():
            for item in run_result.results:
                evaluated += 1
                if item.success:
                    continue
                details = item.result or {}
                failures.append(ExpectationFailure(
                    expectation=item.expectation_config.type,
                    column=item.expectation_config.kwargs.get("column"),
                    unexpected_count=details.get("unexpected_count"),
                    examples=[_plain(v) for v in (details.get("partial_unexpected_list") or [])[:EXAMPLES]],
                ))
        return SuiteOutcome(suite_name, batch_name, len(frame), evaluated, failures)

    def build_docs(self) -> Path:
        """Render every validation of this runner once (rebuilding the site per validation costs ~0.2 s each)."""
        self.context.build_data_docs(site_names=[DOCS_SITE])
        return self.docs_index

    @property
    def docs_index(self) -> Path:
        return self.docs_dir / "index.html"


def _plain(value):
    """Examples go into Dagster metadata: keep them JSON-friendly."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
