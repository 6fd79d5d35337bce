"""The dbt CLI resource, for the dbt installed beside this interpreter."""

import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from dagster_dbt.compat import DBT_PYTHON_VERSION
from packaging import version

# The dbt beside this interpreter, so the pipeline works without the venv on PATH.
LOCAL_DBT = str(Path(sys.executable).parent / "dbt")


class LocalDbtCliResource(DbtCliResource):
    """`DbtCliResource` minus two costs it pays on every invocation that buy this project nothing.

    It runs `dbt --version` in a subprocess (seconds: dbt's imports) to learn the executable's version: the dbt
    beside this interpreter is the dbt-core installed in it. And it builds a dbt adapter in the Dagster process
    (seconds more), used only by `fetch_row_counts` / `fetch_column_metadata`, which `dbt_models` does not call (it
    counts rows itself once dbt has let go of the DuckDB file). Both are private hooks of dagster-dbt 0.29
    (tests/test_dbt_cli.py pins them); any other executable keeps dagster-dbt's own behaviour.
    """

    def _is_local(self) -> bool:
        return self.dbt_executable == LOCAL_DBT and DBT_PYTHON_VERSION is not None

    @cached_property
    def _cli_version(self) -> version.Version:
        if self._is_local():
            return DBT_PYTHON_VERSION
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):
        if self._is_local():
            return None
        return super()._initialize_dbt_core_adapter(args)
