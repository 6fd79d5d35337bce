"""Writes a BI-safe release of the marts and swaps it in atomically.

Layout under `OMNI_PUBLISH_DIR`:
    releases/<release_id>/omnichannel.duckdb        the `marts` schema, identifiers hashed
    releases/<release_id>/parquet/<table>.parquet
    releases/<release_id>/manifest.json
    current -> releases/<release_id>           swapped with one rename, so readers see old or new, never half
    manifest.json                              a copy of the current release's manifest

Nothing under the publish dir is touched until the new release is complete, so a failure at any point leaves
the last good publication exactly as it was. Each manifest holds the fingerprint of what it was written from
(`orchestration.publishing.fingerprint`): a publication whose fingerprint is the current release's writes nothing.
Old releases are renamed out of sight (`.deleting-<id>`) before they are deleted, so a crash midway never leaves
a half-deleted folder that looks like a release; the next publication deletes what such a crash left.
"""

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.privacy.pii import hashed_select, leaked_identifier_columns
from orchestration.publishing.fingerprint import marts_fingerprint
from orchestration.warehouse import tables_in

# How many releases stay by default (`OMNI_KEEP_RELEASES`): a BI session may still hold an older file open.
KEEP_RELEASES = 3
# BI clients bundle a DuckDB of their own, often a release or more behind the pipeline's (Evidence's DuckDB plugin
# reads the v1.4 format): the published file is written in a storage format they read.
PUBLISHED_STORAGE_VERSION = "v1.4.0"


@dataclass(frozen=True)
class Release:
    release_id: str
    path: Path
    tables: dict[str, int]


def parse_keep_releases(value: str | int) -> int:
    """How many releases to keep, a whole number of at least 1; ValueError naming the setting otherwise."""
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"OMNI_KEEP_RELEASES must be a whole number of releases, at least 1, not {value!r}")
    return int(text)


def release_fingerprint(con: duckdb.DuckDBPyConnection, salt: str | None) -> dict:
    """The fingerprint of the release `write_release` would write from `con` now."""
    return marts_fingerprint(con, salt, PUBLISHED_STORAGE_VERSION)


def unchanged_release(publish_dir: Path, fingerprint: dict) -> str | None:
    """The current release's id if it was written from exactly this fingerprint, else None."""
    current = Path(publish_dir) / "current"
    manifest = current / "manifest.json"
    if not (current / "omnichannel.duckdb").exists() or not manifest.exists():
        return None
    recorded = json.loads(manifest.read_text())
    return recorded["release_id"] if recorded.get("fingerprint") == fingerprint else None


def write_release(
    con: duckdb.DuckDBPyConnection,
    publish_dir: Path,
    release_id: str,
    manifest: dict,
    salt: str | None,
    fingerprint: dict | None = None,
) -> Release:
    """Copy every `marts` table into a new release folder; `salt=None` keeps identifiers in the clear.

    `fingerprint` is `release_fingerprint(con, salt)`, when the caller has it already."""
    if fingerprint is None:
        fingerprint = release_fingerprint(con, salt)
    releases = publish_dir / "releases"
    building = releases / f".building-{release_id}"
    shutil.rmtree(building, ignore_errors=True)
    (building / "parquet").mkdir(parents=True)
    database = building / "omnichannel.duckdb"
    counts = {}
    con.execute(f"attach '{database}' as release_db (storage_version '{PUBLISHED_STORAGE_VERSION}')")
    try:
        con.execute("create schema release_db.marts")
        for table in tables_in(con, "marts"):
            select = hashed_select(con, "marts", table, salt)
            con.execute(f"create table release_db.marts.{table} as {select}")
            con.execute(f"copy release_db.marts.{table} to '{building / 'parquet' / table}.parquet' (format parquet)")
            counts[table] = con.execute(f"select count(*) from release_db.marts.{table}").fetchall()[0][0]
        if salt is not None:
            leaks = leaked_identifier_columns(con, "release_db", "marts")
            if leaks:
                raise RuntimeError(f"refusing to publish: clear-text identifiers in {leaks}")
    finally:
        con.execute("detach release_db")
    manifest = {
        **manifest,
        "release_id": release_id,
        "tables": counts,
        "identifiers": "salted sha256" if salt is not None else "clear text",
        "fingerprint": fingerprint,
    }
    (building / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    final = releases / release_id
    os.replace(building, final)
    return Release(release_id, final, counts)


def swap_in(publish_dir: Path, release: Release, keep: int = KEEP_RELEASES) -> None:
    """Point `current` at the release with one atomic rename, refresh the top-level manifest copy, then keep the
    newest `keep` releases."""
    link_tmp = publish_dir / f".current-{release.release_id}"
    link_tmp.unlink(missing_ok=True)
    link_tmp.symlink_to(Path("releases") / release.release_id)
    os.replace(link_tmp, publish_dir / "current")
    manifest_tmp = publish_dir / f".manifest-{release.release_id}.json"
    shutil.copyfile(release.path / "manifest.json", manifest_tmp)
    os.replace(manifest_tmp, publish_dir / "manifest.json")
    prune_releases(publish_dir, keep)


def _delete(release: Path) -> None:
    """Out of sight first (one rename), then deleted: a crash in between leaves `.deleting-<id>`, not a release."""
    doomed = release.with_name(f".deleting-{release.name}")
    os.replace(release, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _delete_leftovers(releases_dir: Path) -> None:
    for leftover in releases_dir.iterdir():
        if leftover.name.startswith((".deleting-", ".building-")):
            shutil.rmtree(leftover, ignore_errors=True)


def prune_releases(publish_dir: Path, keep: int = KEEP_RELEASES) -> None:
    """Keep the newest `keep` releases and the one `current` points at; delete what a crash left half-made
    (`.building-*`) or half-deleted (`.deleting-*`). Only the publisher calls it, under the warehouse's run lock."""
    releases_dir = Path(publish_dir) / "releases"
    if not releases_dir.exists():
        return
    _delete_leftovers(releases_dir)
    current = Path(publish_dir) / "current"
    pinned = current.resolve().name if current.exists() else None
    releases = sorted(p.name for p in releases_dir.iterdir() if not p.name.startswith("."))
    for old in releases[:-keep]:
        if old != pinned:
            _delete(releases_dir / old)


def new_release_id(run_id: str) -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + run_id[:8]


def prune_all_but_current(publish_dir: Path) -> None:
    """Drop every release but the one `current` points at: after `forget`, older ones still hold the person."""
    current = publish_dir / "current"
    if not current.exists():
        return
    keep = current.resolve().name
    _delete_leftovers(publish_dir / "releases")  # a crash's half-deleted release holds the person too
    for old in (publish_dir / "releases").iterdir():
        if old.name != keep and not old.name.startswith("."):
            _delete(old)


def _scrubbed_copy(source: Path, database: Path, customer_ids: list[str]) -> dict[str, int]:
    """Write a fresh database with every table of `source` but these customers' rows; returns row counts.

    Built anew rather than copied and deleted from: a copy would keep the deleted rows' bytes in its free blocks.
    """
    counts = {}
    with duckdb.connect(str(database), config={"storage_compatibility_version": PUBLISHED_STORAGE_VERSION}) as con:
        con.execute(f"attach '{source}' as scrub_source (read_only)")
        con.execute("create schema marts")
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'scrub_source' "
                "and table_schema = 'marts' order by table_name"
            ).fetchall()
        ]
        for table in tables:
            columns = {
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_catalog = 'scrub_source' "
                    "and table_schema = 'marts' and table_name = ?",
                    [table],
                ).fetchall()
            }
            kept = [
                f"({c} is null or not list_contains($ids, {c}))"
                for c in sorted({"customer_id", "old_customer_id", "new_customer_id"} & columns)
            ]
            where = " and ".join(kept) or "true"
            con.execute(
                f"create table marts.{table} as select * from scrub_source.marts.{table} where {where}",
                {"ids": customer_ids} if kept else None,
            )
            counts[table] = con.execute(f"select count(*) from marts.{table}").fetchall()[0][0]
        con.execute("detach scrub_source")
        for table in tables:
            con.execute(f"copy marts.{table} to '{database.parent / 'parquet' / table}.parquet' (format parquet)")
    return counts


def scrub_current(publish_dir: Path, customer_ids: list[str]) -> Release | None:
    """A new release equal to the current one without these customers' rows, swapped in; older ones deleted.

    `forget` needs this: BI must lose the person at once, whatever the next publication's gate decides. The new
    release's files are written fresh, and every older release is deleted, so no published file keeps the bytes.
    """
    current = publish_dir / "current"
    if not current.exists() or not customer_ids:
        return None
    source = current.resolve()
    release_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-forget"
    building = publish_dir / "releases" / f".building-{release_id}"
    shutil.rmtree(building, ignore_errors=True)
    (building / "parquet").mkdir(parents=True)
    counts = _scrubbed_copy(source / "omnichannel.duckdb", building / "omnichannel.duckdb", customer_ids)
    if (source / "report_checks.json").exists():  # what the report drew besides the marts; `forget` redraws it
        shutil.copyfile(source / "report_checks.json", building / "report_checks.json")
    manifest = json.loads((source / "manifest.json").read_text())
    # Not what the warehouse's marts now hold: the next publication writes a release whatever they hold.
    manifest.pop("fingerprint", None)
    manifest.update(
        release_id=release_id,
        tables=counts,
        scrubbed_from=source.name,
        scrubbed_at=datetime.now(UTC).isoformat(),
        customers_erased=len(customer_ids),
    )
    (building / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    final = publish_dir / "releases" / release_id
    os.replace(building, final)
    release = Release(release_id, final, counts)
    swap_in(publish_dir, release)
    prune_all_but_current(publish_dir)
    return release
