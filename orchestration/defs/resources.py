"""The resources every asset shares, configured from environment variables through `dg.EnvVar`.

A variable that is not set falls back to its default in `orchestration.settings` (under `.omnichannel/`), read
when the definitions are built; nothing here writes the environment or creates a folder.
"""

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from orchestration import settings
from orchestration.ingestion.lines import DEFAULT_MAX_LINE_BYTES
from orchestration.privacy.salt import publish_salt
from orchestration.publishing.release import KEEP_RELEASES, parse_keep_releases
from orchestration.publishing.row_drops import DEFAULT_MAX_DROP, parse_max_drop
from orchestration.reporting.docs_site import DATA_DOCS, PUBLISHED, file_url
from orchestration.warehouse_lock import exclusive

# DuckDB takes one writer per file: every asset that writes the warehouse is in this pool, limited to one.
WAREHOUSE_POOL = "warehouse"


class Warehouse(dg.ConfigurableResource):
    """The working DuckDB file that ingestion and dbt write; BI reads the published copy instead.

    A run that uses it holds the warehouse's run lock from start to end (`orchestration.warehouse_lock`): a second
    run started meanwhile, from anywhere, waits for the first instead of failing on DuckDB's lock.
    """

    path: str
    # DuckDB spills big operators to disk past memory_limit instead of taking the machine down.
    memory_limit: str = "3GB"
    threads: int = 2
    _run_lock: ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.dagster_run is None:
            # A sensor's or schedule's evaluation in the daemon (the failure report's sensor reads the marts):
            # no run to serialize, and waiting there would time the tick out.
            return
        stack = ExitStack()
        stack.enter_context(exclusive(Path(self.path), waiting=context.log.info if context.log else print))
        self._run_lock = stack

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_lock is not None:
            self._run_lock.close()
            self._run_lock = None

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, config={"memory_limit": self.memory_limit, "threads": self.threads})
        try:
            yield con
        finally:
            con.close()

    def dbt_environment(self) -> dict[str, str]:
        """What dbt's profile reads (`dbt_project/profiles.yml`), as absolute paths: dbt runs in its own folder."""
        return {
            "OMNI_WAREHOUSE": str(Path(self.path).resolve()),
            "OMNI_DUCKDB_MEMORY_LIMIT": self.memory_limit,
            "OMNI_DUCKDB_THREADS": str(self.threads),
        }


class LandingZone(dg.ConfigurableResource):
    """Where the channels' exports land: `<path>/<source>/<YYYY-MM-DD>/...` and `<path>/_control/...`."""

    path: str
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES  # longer landing lines are quarantined, not loaded

    @property
    def root(self) -> Path:
        return Path(self.path)


class PhoneNumbering(dg.ConfigurableResource):
    """How phone numbers typed without a country code are read (`raw.phone_numbers` is keyed by the region)."""

    default_region: str = "US"


class DataDocs(dg.ConfigurableResource):
    """The folder of the great-expectations Data Docs site every check run renders into."""

    path: str
    # The docs site's base URL (`OMNI_DOCS_URL`, served by `omnichannel ui`); None or `off`: no http links.
    site_url: str | None = None

    @property
    def folder(self) -> Path:
        return Path(self.path)

    def url_of(self, page: Path) -> str | None:
        """The http link to a page of the site, which the Dagster UI can open (it cannot open file://)."""
        return file_url(self.site_url, DATA_DOCS, self.folder, page)


class Publication(dg.ConfigurableResource):
    """Where BI's copy of the marts goes, and how its identifiers are hashed."""

    path: str
    home: str  # where a generated salt is kept when none is configured
    salt: str | None = None
    hash_identifiers: bool = True
    # The share of its published rows a mart may lose before publication stops (`omnichannel acknowledge-drop`).
    max_row_drop: str = str(DEFAULT_MAX_DROP)
    # How many releases stay under `releases/` (the current one always among them).
    keep_releases: str = str(KEEP_RELEASES)
    # The docs site's base URL (`OMNI_DOCS_URL`, served by `omnichannel ui`); None or `off`: no http links.
    site_url: str | None = None

    @property
    def folder(self) -> Path:
        return Path(self.path)

    def url_of(self, file: Path) -> str | None:
        """The http link to a file of the publish dir, which the Dagster UI can open (it cannot open file://)."""
        return file_url(self.site_url, PUBLISHED, self.folder, file)

    @property
    def max_drop(self) -> float:
        return parse_max_drop(self.max_row_drop)

    @property
    def keep(self) -> int:
        return parse_keep_releases(self.keep_releases)

    def identifier_salt(self) -> str | None:
        """The salt of published identifier hashes; None publishes them in the clear."""
        return publish_salt(Path(self.home), configured=self.salt, hash_identifiers=self.hash_identifiers)


def _from_env(name: str):
    """`dg.EnvVar(name)` when the variable is set (the UI then shows where the value came from), else its default."""
    return dg.EnvVar(name) if os.environ.get(name) else settings.get(name)


def _int_from_env(name: str):
    return dg.EnvVar.int(name) if os.environ.get(name) else int(settings.get(name))


def pipeline_resources() -> dict[str, dg.ConfigurableResource]:
    """Every resource but dbt's, keyed as the assets ask for them."""
    hash_flag = os.environ.get("OMNI_PUBLISH_HASH_IDENTIFIERS", "true").strip().lower()
    return {
        "warehouse": Warehouse(
            path=_from_env("OMNI_WAREHOUSE"),
            memory_limit=_from_env("OMNI_DUCKDB_MEMORY_LIMIT"),
            threads=_int_from_env("OMNI_DUCKDB_THREADS"),
        ),
        "landing": LandingZone(path=_from_env("OMNI_LANDING_DIR"), max_line_bytes=_int_from_env("OMNI_MAX_LINE_BYTES")),
        "phones": PhoneNumbering(default_region=_from_env("OMNI_PHONE_REGION")),
        "data_docs": DataDocs(path=_from_env("OMNI_DATA_DOCS_DIR"), site_url=_from_env("OMNI_DOCS_URL")),
        "publication": Publication(
            path=_from_env("OMNI_PUBLISH_DIR"),
            home=_from_env("OMNI_HOME"),
            salt=dg.EnvVar("OMNI_PUBLISH_SALT") if os.environ.get("OMNI_PUBLISH_SALT") else None,
            hash_identifiers=hash_flag not in {"0", "false", "no", "off"},
            max_row_drop=_from_env("OMNI_PUBLISH_MAX_ROW_DROP"),
            keep_releases=_from_env("OMNI_KEEP_RELEASES"),
            site_url=_from_env("OMNI_DOCS_URL"),
        ),
    }
