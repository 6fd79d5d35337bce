"""The layering holds: Dagster objects apart from plain logic, imports one way, the simulator outside the pipeline.

`lint-imports` (import-linter) checks the contracts in pyproject.toml, function-level imports included; the
test also proves each contract can fail, on a copy of the tree with one forbidden import added.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from orchestration.settings import PROJECT_ROOT

LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(root), "PATH": str(Path(sys.executable).parent)},
    )


def test_the_import_contracts_hold():
    result = _lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(
    "module, forbidden_import, contract",
    [
        ("orchestration/ingestion/loader.py", "import dagster", "Domain logic and data quality import no Dagster"),
        ("orchestration/identity/forget.py", "import simulator", "The pipeline never imports the simulator"),
        ("data_quality/sync_accuracy.py", "from orchestration import settings", "Data quality is beneath the pipeline"),
        (
            "orchestration/privacy/suppression.py",
            "from orchestration.ingestion import sources",
            "Privacy imports neither ingestion nor identity",
        ),
        ("orchestration/defs/publishing.py", "from orchestration import definitions", "Imports flow one way"),
    ],
)
def test_each_contract_fails_on_a_forbidden_import(tmp_path, module, forbidden_import, contract):
    copy = tmp_path / "tree"
    for package in ("orchestration", "data_quality", "simulator", "omnichannel"):
        shutil.copytree(PROJECT_ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", copy / "pyproject.toml")
    target = copy / module
    # Inside a function, as lazy imports are written: the contracts see those too.
    target.write_text(target.read_text() + f"\n\ndef _violation():\n    {forbidden_import}\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    broken = result.stdout[result.stdout.index("Broken contracts") :]
    assert contract in " ".join(broken.split()), broken


def test_importing_and_building_the_code_location_writes_nothing(tmp_path):
    """Loading the definitions reads the environment but writes neither it nor a folder (no import side effects)."""
    home = tmp_path / "never_created"
    probe = (
        "import os, json\n"
        "before = dict(os.environ)\n"
        "import orchestration.definitions as d\n"
        "d.build_definitions()\n"
        "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))\n"
        "print(json.dumps(changed))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "OMNI_HOME": str(home), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    changed = json.loads(result.stdout.strip().splitlines()[-1])
    assert not [name for name in changed if name.startswith(("OMNI_", "PATH", "DBT_"))], changed
    assert not home.exists()


def test_resources_take_settings_from_the_environment_through_env_vars(monkeypatch, tmp_path):
    from orchestration.defs.resources import pipeline_resources

    monkeypatch.setenv("OMNI_PUBLISH_DIR", str(tmp_path / "bi"))
    monkeypatch.setenv("OMNI_PHONE_REGION", "GB")
    monkeypatch.delenv("OMNI_DATA_DOCS_DIR", raising=False)
    monkeypatch.setenv("OMNI_HOME", str(tmp_path / "home"))
    resources = pipeline_resources()
    publication = resources["publication"]
    assert isinstance(publication.path, dg.EnvVar) and publication.path.env_var_name == "OMNI_PUBLISH_DIR"
    assert isinstance(resources["phones"].default_region, dg.EnvVar)
    # Unset: the default under OMNI_HOME, resolved when the definitions are built.
    assert resources["data_docs"].path == str((tmp_path / "home" / "data_docs").resolve())
