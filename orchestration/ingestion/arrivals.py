"""What a watcher of the landing zone sees of a delivery day without reading its files or the warehouse.

A sensor runs in another process than the runs, and DuckDB takes one writer per file: it cannot ask the warehouse
what is loaded. It keeps its own view instead: a signature per day from the names, sizes and modification times of
the files the day's load would read (cheap, no file is opened). The load itself still compares content fingerprints
(`orchestration.ingestion.fingerprints`).
"""

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestration.ingestion.fingerprints import day_files


def _day_paths(landing_dir: Path, day: str) -> list[Path]:
    return sorted({path for files in day_files(landing_dir, day).values() for path in files})


def day_signature(landing_dir: Path, day: str) -> str:
    """A digest of the name (relative to the landing zone), size and mtime of every file of the day's load."""
    digest = hashlib.blake2b(digest_size=12)
    for path in _day_paths(landing_dir, day):
        stat = path.stat()
        digest.update(f"{path.relative_to(landing_dir).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def last_change(landing_dir: Path, day: str) -> float:
    """When a file of the day was last written (seconds since the epoch); 0 for a day without files."""
    return max((path.stat().st_mtime for path in _day_paths(landing_dir, day)), default=0.0)


def changed_signatures(signatures: Mapping[str, str], seen: Mapping[str, str]) -> list[str]:
    """The days whose signature is new or differs from the one seen, in the order of `signatures`."""
    return [day for day, signature in signatures.items() if seen.get(day) != signature]


def consecutive_groups(order: Sequence[str], wanted: Sequence[str]) -> list[list[str]]:
    """`wanted` split into runs of neighbours in `order` (the partitions' order), so each run is one key range."""
    position = {key: index for index, key in enumerate(order)}
    missing = [key for key in wanted if key not in position]
    if missing:
        raise ValueError(f"not partitions (yet): {', '.join(missing)}")
    groups: list[list[str]] = []
    for key in sorted(set(wanted), key=position.__getitem__):
        if groups and position[groups[-1][-1]] == position[key] - 1:
            groups[-1].append(key)
        else:
            groups.append([key])
    return groups
