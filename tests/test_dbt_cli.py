"""The dbt resource skips dagster-dbt's `dbt --version` subprocess and in-process adapter for the local dbt."""

import re
import subprocess

from dagster_dbt import DbtCliResource

from orchestration.defs.dbt_cli import LOCAL_DBT, LocalDbtCliResource
from orchestration.defs.dbt_project import dbt_project


def test_the_private_hooks_it_overrides_still_exist_in_dagster_dbt():
    # Renamed in a later dagster-dbt, the overrides would silently stop saving anything: fail here instead.
    assert "_cli_version" in vars(DbtCliResource)
    assert callable(vars(DbtCliResource)["_initialize_dbt_core_adapter"])


def test_the_local_dbt_reports_the_version_its_executable_prints_without_running_it(monkeypatch):
    printed = subprocess.run([LOCAL_DBT, "--version"], capture_output=True, text=True, check=True).stdout
    expected = re.search(r"(\d+\.\d+\.\d+)", printed).group(1)
    dbt = LocalDbtCliResource(project_dir=dbt_project, dbt_executable=LOCAL_DBT)

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr("dagster_dbt.core.resource.check_output", no_subprocess)
    assert str(dbt._cli_version) == expected
    assert dbt._initialize_dbt_core_adapter(["build"]) is None


def test_another_dbt_executable_keeps_dagster_dbts_own_behaviour(tmp_path, monkeypatch):
    other = tmp_path / "dbt"
    other.write_text("#!/bin/sh\necho 'Core:\n  - installed: 2.0.0-beta'\n")
    other.chmod(0o755)
    dbt = LocalDbtCliResource(project_dir=dbt_project, dbt_executable=str(other))
    assert str(dbt._cli_version) == "2.0.0"
