"""A new warehouse's first dbt run starts from the parse state scripts/setup.sh made (orchestration/dbt_targets.py):
only when the profiles differ in the file's path, with the hash dbt itself computes, into the manifest a full
parse makes."""

import json
import shutil
from pathlib import Path

import msgpack
import pytest
from conftest import dbt_process

from orchestration.dbt_targets import (
    PARSE_PROFILE,
    PARSE_STATE,
    describe_parse_state,
    profile_connection_info,
    profile_hash,
    seed_parse_state,
)
from orchestration.defs.dbt_project import dbt_project

PACKAGED = Path(dbt_project.manifest_path).parent


def _state_hash(folder: Path) -> str:
    state = msgpack.unpackb((folder / PARSE_STATE).read_bytes(), raw=False, strict_map_key=False)
    return state["state_check"]["profile_hash"]["checksum"]


def _dbt_log(tmp_path: Path) -> str:
    return (tmp_path / "logs" / "dbt.log").read_text()


def _nodes(tmp_path: Path) -> dict:
    """The parsed nodes, minus when they were parsed."""
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    return {
        kind: {key: {k: v for k, v in node.items() if k != "created_at"} for key, node in manifest[kind].items()}
        for kind in ("nodes", "sources", "macros", "unit_tests")
    }


def test_setup_described_its_parse_state_with_the_hash_dbt_wrote():
    described = json.loads((PACKAGED / PARSE_PROFILE).read_text())
    assert described["profile_hash"] == _state_hash(PACKAGED) == profile_hash(described["connection_info"])


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    """`dbt parse` for a warehouse elsewhere: once from the seeded state, once in full from nothing."""
    root = tmp_path_factory.mktemp("parse_state")
    warehouse = root / "elsewhere" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_WAREHOUSE", str(warehouse))
        info = profile_connection_info(dbt_project.project_dir)
    seeded, full = root / "seeded", root / "full"
    assert seed_parse_state(seeded / "target", info, PACKAGED) == "seeded"
    results = {
        name: dbt_process("parse", warehouse=warehouse, tmp_path=path)
        for name, path in (("seeded", seeded), ("full", full))
    }
    for name, result in results.items():
        assert result.returncode == 0, f"{name}: {result.stdout[-3000:]}"
    return dict(info=info, seeded=seeded, full=full, warehouse=warehouse)


def test_the_hash_given_to_a_seeded_state_is_the_one_dbt_computes_for_its_profile(parsed):
    # dbt wrote the full parse's state itself, for the same profile.
    assert _state_hash(parsed["full"] / "target") == profile_hash(parsed["info"])
    assert dict(map(tuple, parsed["info"]))["path"] == str(parsed["warehouse"])


def test_a_seeded_state_parses_partially_into_the_manifest_a_full_parse_makes(parsed):
    assert "Starting full parse" in _dbt_log(parsed["full"])
    seeded_log = _dbt_log(parsed["seeded"])
    assert "Unable to do partial parsing" not in seeded_log and "Starting full parse" not in seeded_log
    nodes = _nodes(parsed["seeded"])
    assert len(nodes["nodes"]) > 300 and nodes == _nodes(parsed["full"])  # models, seeds and tests


def test_only_a_profile_that_differs_in_the_path_alone_is_seeded(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNI_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    same = profile_connection_info(dbt_project.project_dir)
    # Another file name is another database name, which every parsed node carries.
    monkeypatch.setenv("OMNI_WAREHOUSE", str(tmp_path / "other.duckdb"))
    other_name = profile_connection_info(dbt_project.project_dir)
    assert dict(map(tuple, other_name))["database"] == "other"
    assert not seed_parse_state(tmp_path / "other", other_name, PACKAGED)
    monkeypatch.setenv("OMNI_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DUCKDB_MEMORY_LIMIT", "1GB")  # another setting
        assert not seed_parse_state(tmp_path / "settings", profile_connection_info(dbt_project.project_dir), PACKAGED)
    # A warehouse with a state of its own keeps it.
    own = tmp_path / "own"
    own.mkdir()
    (own / PARSE_STATE).write_bytes(b"its own")
    assert not seed_parse_state(own, same, PACKAGED)
    assert (own / PARSE_STATE).read_bytes() == b"its own"
    assert seed_parse_state(tmp_path / "new", same, PACKAGED) == "seeded"
    assert seed_parse_state(tmp_path / "new", same, PACKAGED) is None  # already this profile's
    # The warehouse moved (a copied world): its own state, described when it was kept, is made the new path's.
    monkeypatch.setenv("OMNI_WAREHOUSE", str(tmp_path / "moved" / "warehouse.duckdb"))
    moved = profile_connection_info(dbt_project.project_dir)
    assert seed_parse_state(tmp_path / "new", moved, PACKAGED) == "moved"
    assert _state_hash(tmp_path / "new") == profile_hash(moved) != profile_hash(same)


def test_a_seed_parsed_again_since_it_was_described_is_not_used(tmp_path, monkeypatch):
    seed = tmp_path / "seed"
    seed.mkdir()
    shutil.copyfile(PACKAGED / PARSE_STATE, seed / PARSE_STATE)
    described = json.loads((PACKAGED / PARSE_PROFILE).read_text())["connection_info"]
    monkeypatch.setenv("OMNI_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    info = profile_connection_info(dbt_project.project_dir)
    assert not seed_parse_state(tmp_path / "undescribed", info, seed)  # no sidecar
    describe_parse_state(seed, [*described[:-1], ["use_credential_provider", "aws"]])  # not what it was parsed with
    assert not seed_parse_state(tmp_path / "stale", info, seed)
    describe_parse_state(seed, described)
    assert seed_parse_state(tmp_path / "described", info, seed) == "seeded"
