"""The resources every asset shares: the warehouse (one DuckDB file, from `OMNI_WAREHOUSE`) and the landing zone."""
import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import settings
from orchestration.ingestion.lines import DEFAULT_MAX_LINE_BYTES

settings.apply_defaults()


class LandingZone(dg.ConfigurableResource):
    """Where the channels' exports land: `<path>/<source>/<YYYY-MM-DD>/...` and `<path>/_control/...`."""

    path: str
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES  # longer landing lines are quarantined

    @property
    def root(self) -> Path:
        return Path(self.path)


def warehouse_resource() -> DuckDBResource:
    # DuckDB spills big operators to disk past memory_limit instead of taking the machine down.
    return DuckDBResource(
        database=dg.EnvVar("OMNI_WAREHOUSE"),
        connection_config={
            "memory_limit": os.environ["OMNI_DUCKDB_MEMORY_LIMIT"],
            "threads": int(os.environ["OMNI_DUCKDB_THREADS"]),
        },
    )


def landing_resource() -> LandingZone:
    return LandingZone(path=dg.EnvVar("OMNI_LANDING_DIR"), max_line_bytes=dg.EnvVar.int("OMNI_MAX_LINE_BYTES"))
