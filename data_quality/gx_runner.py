"""Runs great-expectations 1.x suites on bounded batches (a partition as a dataframe) and renders Data Docs.

GX's SQL datasource on DuckDB was seen failing with MetricResolutionError, so every batch is handed over as a
pandas dataframe read by DuckDB: bounded, and the same code path for raw, staging and marts.

GX's bookkeeping costs more than validating a small batch, so none of it is redone per batch: one GX context per
process and Data Docs folder, each suite registered with it once (a batch's own key comes in as an expectation
parameter), each validation's page rendered once, and the site's shared parts (index, suite pages, styles) once
per run (`build_docs`). Results and suites are kept as JSON in the site's `.gx` folder, so the index lists the
pages of every process that wrote into the site, not only of the one that builds it.
"""

import functools
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import great_expectations as gx
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.exceptions.resource_freshness import ValidationDefinitionRelatedResourcesFreshnessError

from data_quality.sampling import for_batch

DOCS_SITE = "omnichannel"
EXAMPLES = 5
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
# Where GX keeps the results and suites that the site's pages are rendered from, inside the site folder.
STORE_FOLDER = ".gx"
# The index lists this many latest validations; every page stays on disk.
INDEX_LIMIT = 1000


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
    page: Path | None = None  # this validation's Data Docs page (rendered by `render_pages` or `build_docs`)

    @property
    def success(self) -> bool:
        return not self.failures


def _quiet_gx() -> None:
    # GX phones home unless told not to, and logs progress bars and deprecation chatter at INFO/WARNING;
    # the outcome is what matters here. Set when a runner is made, not when this module is imported.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


def _filesystem_store(store_class: str, folder: Path) -> dict:
    return {
        "class_name": store_class,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
    }


class _Site:
    """The GX context of one Data Docs folder in this process, and the suites registered with it."""

    def __init__(self, docs_dir: Path):
        self.docs_dir = docs_dir
        defaults = InMemoryStoreBackendDefaults()
        stores = dict(defaults.stores)
        stores[defaults.expectations_store_name] = _filesystem_store(
            "ExpectationsStore", docs_dir / STORE_FOLDER / "expectations"
        )
        stores[defaults.validation_results_store_name] = _filesystem_store(
            "ValidationResultsStore", docs_dir / STORE_FOLDER / "validations"
        )
        config = DataContextConfig(
            store_backend_defaults=defaults,
            stores=stores,
            progress_bars=ProgressBarsConfig(globally=False),
            data_docs_sites={
                DOCS_SITE: {
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                    "site_index_builder": {
                        "class_name": "DefaultSiteIndexBuilder",
                        "validation_results_limit": INDEX_LIMIT,
                    },
                }
            },
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.datasource = self.context.data_sources.add_pandas("warehouse_batches")
        self.definitions: dict[str, tuple[str, gx.ValidationDefinition]] = {}
        self.styles_copied = False

    def definition(self, suite_name: str, expectations: list[gx.expectations.Expectation]) -> gx.ValidationDefinition:
        """The suite's validation definition, registered on first use and again only if its expectations change."""
        fingerprint = "\n".join(type(e).__name__ + e.json(exclude={"id"}) for e in expectations)
        registered = self.definitions.get(suite_name)
        if registered and registered[0] == fingerprint:
            return registered[1]
        if registered is None:
            asset = self.datasource.add_dataframe_asset(name=suite_name)
            batch = asset.add_batch_definition_whole_dataframe("batch")
        else:
            batch = registered[1].batch_definition
        suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
        suite = self.context.suites.add_or_update(suite)
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
        )
        self.definitions[suite_name] = (fingerprint, definition)
        return definition

    def page(self, key: ValidationResultIdentifier) -> Path:
        return self.docs_dir / "validations" / Path(*key.to_tuple()[:-1]) / f"{key.to_tuple()[-1]}.html"

    def render(self, keys: list, build_index: bool) -> None:
        if not keys and not build_index:
            return
        if build_index:
            # The suites' own pages, besides the validations': every suite the site's store holds.
            keys = [*keys, *self.context.expectations_store.list_keys()]
        elif self.styles_copied:
            # GX copies the site's styles and fonts on every build; once per process is enough between index builds.
            self._render_pages_only(keys)
            return
        self.context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=keys, build_index=build_index)
        self.styles_copied = True

    @functools.cached_property
    def _pages(self):
        """The site's validation-page builder, kept: each new one compiles its page templates again (~50 ms)."""
        builder = self.context._init_site_builder_for_data_docs_site_creation(  # noqa: SLF001
            site_name=DOCS_SITE, site_config=self.context.variables.data_docs_sites[DOCS_SITE]
        )
        return builder.site_section_builders["validations"]

    def _render_pages_only(self, keys: list) -> None:
        self._pages.build(resource_identifiers=keys)


@functools.cache
def _site(docs_dir: Path) -> _Site:
    return _Site(docs_dir)


class SuiteRunner:
    """Validates batches against suites; every validation lands on one Data Docs site under `docs_dir`.

    Cheap to make: the GX context behind it is shared by every runner of the same folder in this process.
    """

    def __init__(self, docs_dir: Path):
        _quiet_gx()
        self.docs_dir = Path(docs_dir).resolve()
        if not (self.docs_dir / STORE_FOLDER).is_dir():
            # The site was deleted (`forget` removes Data Docs, which may show a person's values): the suites the
            # cached context registered went with it, so start a context afresh.
            _site.cache_clear()
        self._site = _site(self.docs_dir)
        self._unrendered: list[ValidationResultIdentifier] = []

    def validate(
        self,
        suite_name: str,
        batch_name: str,
        frame: pd.DataFrame,
        expectations: list[gx.expectations.Expectation],
        parameters: dict | None = None,
    ) -> SuiteOutcome:
        """Validate one batch against one suite; failures carry examples of the offending values.

        `parameters` fill the suite's `{"$PARAMETER": name}` values for this batch. The page of the validation is
        rendered by the next `render_pages` or `build_docs`.
        """
        # A tolerance (`mostly`) is the source's; what a batch of this size may show by chance is sampling's.
        expectations = for_batch(expectations, len(frame))
        definition = self._site.definition(suite_name, expectations)
        # The run is named after the batch, so the page's path says which batch it shows.
        run_id = RunIdentifier(run_name=batch_name, run_time=datetime.now(UTC))
        try:
            result = definition.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=parameters or {},
                result_format=RESULT_FORMAT,
                run_id=run_id,
            )
        except ValidationDefinitionRelatedResourcesFreshnessError:
            # The site's stored suite changed under this context (the folder was deleted and written again, as
            # `forget` does): register the suite again and validate once more.
            _, stale = self._site.definitions[suite_name]
            self._site.definitions[suite_name] = ("", stale)  # a fingerprint no suite has: re-registered
            definition = self._site.definition(suite_name, expectations)
            result = definition.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=parameters or {},
                result_format=RESULT_FORMAT,
                run_id=run_id,
            )
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
            run_id=run_id,
            batch_identifier=_batch_id(definition),
        )
        self._unrendered.append(key)
        failures = []
        for item in result.results:
            if item.success:
                continue
            details = item.result or {}
            failures.append(
                ExpectationFailure(
                    expectation=item.expectation_config.type,
                    column=item.expectation_config.kwargs.get("column"),
                    unexpected_count=details.get("unexpected_count"),
                    examples=[_plain(v) for v in (details.get("partial_unexpected_list") or [])[:EXAMPLES]],
                )
            )
        return SuiteOutcome(suite_name, batch_name, len(frame), len(result.results), failures, self._site.page(key))

    def render_pages(self) -> None:
        """Render the page of each validation of this runner not rendered yet; the index is left as it is."""
        self._site.render(self._unrendered, build_index=False)
        self._unrendered = []

    def build_docs(self) -> Path:
        """Render this runner's validation pages, every suite's page and the index, once (once per run)."""
        self._site.render(self._unrendered, build_index=True)
        self._unrendered = []
        return self.docs_index

    @property
    def docs_index(self) -> Path:
        return self.docs_dir / "index.html"


def _batch_id(definition: gx.ValidationDefinition) -> str:
    return f"{definition.data.data_asset.datasource.name}-{definition.data.data_asset.name}"


def _plain(value):
    """Examples go into Dagster metadata: keep them JSON-friendly."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
