"""Where dbt's run folders go, and the parse state one run leaves for the next.

dbt parses the whole project again whenever the profile it parsed with differs, and the profile holds the
warehouse's path. dagster-dbt starts every invocation from `<DBT_TARGET_PATH>/partial_parse.msgpack` but never
writes it back, so with one shared state every warehouse but the one it was made for paid a full parse on every
run. Each warehouse keeps its own folder beside it (`<warehouse>.dbt/`) and the state its last run left there.

A new warehouse's first run starts from the state `scripts/setup.sh` made (`dbt_project/target/`), when the two
profiles differ in the file's path alone. dbt would parse everything again (its check hashes the whole profile,
"This should be made more granular", dbt-core's own comment), yet nothing it parses reads the path: the nodes carry
the database name, which is the file's name without its folder, and the schema, both compared here. The seeded
state gets the hash dbt computes for the new profile; any other difference (another file name, schema or setting,
other vars, another dbt) keeps dbt's full parse. Each state has a sidecar (`partial_parse.profile.json`): the
connection settings it was parsed with, and their hash, so a state is only re-targeted from the profile it was made
for. A warehouse's own state is re-targeted the same way when the warehouse moves (a copied world).
"""

import json
import os
import pprint
import shutil
import sys
from pathlib import Path

PARSE_STATE = "partial_parse.msgpack"
PARSE_PROFILE = "partial_parse.profile.json"  # beside a state: the connection settings it was parsed with
# Run folders (compiled SQL, run_results.json, dbt.log) kept for a look after the fact; older ones are removed.
KEEP_RUN_FOLDERS = 3
# The profile setting whose value a parse never reads (the database name it yields is compared on its own).
PATH_KEY = "path"


def dbt_targets_dir(warehouse) -> Path:
    """`<warehouse file>.dbt/` beside the warehouse (its resource's `path`)."""
    path = Path(warehouse.path).resolve()
    return path.with_name(path.name + ".dbt")


def profile_connection_info(project_dir: Path, cli_vars: str | None = None) -> list:
    """The connection settings dbt hashes into a parse state's profile check, computed as dbt computes them (its
    own profile code) from `profiles.yml` and the environment now."""
    import yaml
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.config.utils import parse_cli_vars
    from dbt_common.context import set_invocation_context

    set_invocation_context(dict(os.environ))  # env_var() in profiles.yml reads the environment through it
    profile_name = yaml.safe_load((Path(project_dir) / "dbt_project.yml").read_text())["profile"]
    renderer = ProfileRenderer(parse_cli_vars(cli_vars) if cli_vars else {})
    # Profile.from_raw_profile_info's first two steps; the Profile it then makes needs dbt's global flags.
    target_name, data = Profile.render_profile(
        read_profile(str(project_dir))[profile_name], profile_name, None, renderer
    )
    data.pop("threads", None)  # not a connection setting
    credentials = Profile._credentials_from_profile(data, profile_name, target_name)
    # JSON's view of the values, as the sidecar keeps them (tuples become lists).
    return json.loads(json.dumps(sorted(credentials.connection_info()), default=str))


def profile_hash(connection_info: list) -> str:
    """dbt's `state_check.profile_hash` for these settings (`ManifestLoader.build_manifest_state_check`)."""
    from dbt.contracts.files import FileHash

    return FileHash.from_contents(pprint.pformat([tuple(item) for item in connection_info])).checksum


def describe_parse_state(folder: Path, connection_info: list) -> None:
    """Write the sidecar of the state in `folder`: the settings it was parsed with, and their hash."""
    sidecar = Path(folder) / PARSE_PROFILE
    staged = sidecar.with_name(sidecar.name + ".new")
    staged.write_text(json.dumps({"profile_hash": profile_hash(connection_info), "connection_info": connection_info}))
    os.replace(staged, sidecar)


def _state_hash(state: dict) -> str | None:
    return ((state.get("state_check") or {}).get("profile_hash") or {}).get("checksum")


def _without_path(connection_info: list) -> list:
    return [item for item in connection_info if item[0] != PATH_KEY]


def _retargeted(folder: Path, described: dict, connection_info: list) -> bytes | None:
    """The parse state in `folder` with dbt's profile hash for `connection_info`, when its sidecar (`described`)
    shows it was parsed for a profile that differs in the warehouse's path alone; else None (dbt decides)."""
    import msgpack

    try:
        state = msgpack.unpackb((folder / PARSE_STATE).read_bytes(), raw=False, strict_map_key=False)
    except (OSError, ValueError, msgpack.UnpackException):
        return None  # no state to start from
    if (
        not isinstance(state, dict)
        or _state_hash(state) != described.get("profile_hash")  # undescribed, or made again since it was described
        or _without_path(described.get("connection_info") or []) != _without_path(connection_info)
    ):
        return None
    state["state_check"]["profile_hash"]["checksum"] = profile_hash(connection_info)
    return msgpack.packb(state, use_bin_type=True)


def seed_parse_state(targets: Path, connection_info: list, seed_folder: Path) -> str | None:
    """Make the parse state a warehouse's next dbt run starts from (in `targets`, its run folders) one for this
    profile, when that only takes a new hash: its own state if the warehouse moved (a copied world, say), else the
    one in `seed_folder` if it has none. Returns "moved" or "seeded" when it wrote a state, else None."""
    targets = Path(targets)
    own = targets / PARSE_STATE
    folder, outcome = (targets, "moved") if own.exists() else (Path(seed_folder), "seeded")
    described = _read_json(folder / PARSE_PROFILE)
    if outcome == "moved" and described.get("profile_hash") == profile_hash(connection_info):
        return None  # parsed for this very profile
    state = _retargeted(folder, described, connection_info)
    if state is None:
        return None
    targets.mkdir(parents=True, exist_ok=True)
    staged = targets / (PARSE_STATE + ".new")
    staged.write_bytes(state)
    os.replace(staged, own)
    describe_parse_state(targets, connection_info)
    return outcome


def _read_json(path: Path) -> dict:
    """The JSON object in `path`; empty when there is none (missing, unreadable, or not an object)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def keep_parse_state(run_target: Path, targets: Path, connection_info: list | None = None) -> None:
    """Make `run_target`'s parse state the next run's starting point (atomically), described by the connection
    settings dbt ran with when given (else undescribed: never re-targeted), and prune old run folders."""
    state = Path(run_target) / PARSE_STATE
    if state.is_file():
        (targets / PARSE_PROFILE).unlink(missing_ok=True)  # first: a sidecar never describes a state it did not see
        staged = targets / (PARSE_STATE + ".new")
        shutil.copyfile(state, staged)
        os.replace(staged, targets / PARSE_STATE)
        if connection_info is not None:
            describe_parse_state(targets, connection_info)
    runs = sorted((p for p in targets.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[KEEP_RUN_FOLDERS:]:
        shutil.rmtree(old, ignore_errors=True)


if __name__ == "__main__":
    # scripts/setup.sh, after `prepare-and-package` parsed the project (argument: its folder): describe that state.
    project = Path(sys.argv[1])
    describe_parse_state(project / "target", profile_connection_info(project))
