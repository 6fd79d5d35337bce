"""Runs of the code location's jobs started from this process, recorded as the UI records its own.

`execute_in_process` records a run with no code location: the UI lists it among all runs but not under its job, and
cannot re-execute it. These runs carry the origin of the code location `workspace.yaml` declares, so the Jobs page
lists them and "Re-execute" works, while they still execute here (the run lock and the warehouse are this
process's).
"""

import sys
from functools import cache

import dagster as dg
import yaml
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import execute_run
from dagster._core.execution.job_execution_result import JobExecutionResult
from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from orchestration import settings

# The name Dagster gives the repository of a module's `Definitions`.
REPOSITORY = "__repository__"


@cache
def code_location() -> tuple[str, str]:
    """(module, location name) of the code location in `workspace.yaml`, as `dagster dev -w workspace.yaml` loads it."""
    (entry,) = yaml.safe_load((settings.PROJECT_ROOT / "workspace.yaml").read_text())["load_from"]
    return entry["python_module"]["module_name"], entry["python_module"]["location_name"]


def repository_label() -> str:
    """How the run storage tags the runs of the code location (`<repository>@<location>`)."""
    return f"{REPOSITORY}@{code_location()[1]}"


def execute(
    job_name: str, instance: dg.DagsterInstance, tags: dict[str, str], run_config: dict | None = None
) -> JobExecutionResult:
    """Runs `job_name` of the code location in this process, recorded under its job and code location."""
    module, location = code_location()
    working_directory = str(settings.PROJECT_ROOT)
    job = ReconstructableRepository.for_module(module, "defs", working_directory).get_reconstructable_job(job_name)
    target = LoadableTargetOrigin(
        executable_path=sys.executable, module_name=module, working_directory=working_directory
    )
    origin = RemoteRepositoryOrigin(ManagedGrpcPythonEnvCodeLocationOrigin(target, location), REPOSITORY)
    run = instance.create_run_for_job(
        job_def=job.get_definition(),
        run_config=run_config or {},
        tags=tags,
        remote_job_origin=origin.get_job_origin(job_name),
        job_code_origin=job.get_python_origin(),
    )
    return execute_run(job, run, instance, raise_on_error=False)
