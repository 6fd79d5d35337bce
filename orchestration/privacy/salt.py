"""The secret salt of hashed identifiers: a configured one (`OMNI_PUBLISH_SALT`), else one generated and kept locally."""

import os
import secrets
from pathlib import Path


def publish_salt(home: Path, configured: str | None = None, hash_identifiers: bool | None = None) -> str | None:
    """None when hashing is off. Without arguments, reads `OMNI_PUBLISH_SALT` and `OMNI_PUBLISH_HASH_IDENTIFIERS`."""
    if hash_identifiers is None:
        flag = os.environ.get("OMNI_PUBLISH_HASH_IDENTIFIERS", "true").strip().lower()
        hash_identifiers = flag not in {"0", "false", "no", "off"}
    if not hash_identifiers:
        return None
    configured = configured if configured is not None else os.environ.get("OMNI_PUBLISH_SALT")
    if configured:
        return configured
    # Stable across runs, so hashed ids join between publications; private to this machine's user.
    path = Path(home) / "publish_salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
