"""The secret salt for hashing published identifiers: `OMNI_PUBLISH_SALT`, else one generated and kept locally."""
import os
import secrets
from pathlib import Path


def publish_salt(home: Path) -> str | None:
    """None when the user turned hashing off (`OMNI_PUBLISH_HASH_IDENTIFIERS=false`)."""
    if os.environ.get("OMNI_PUBLISH_HASH_IDENTIFIERS", "true").strip().lower() in {"0", "false", "no", "off"}:
        return None
    if os.environ.get("OMNI_PUBLISH_SALT"):
        return os.environ["OMNI_PUBLISH_SALT"]
    # Stable across runs, so hashed ids join between publications; private to this machine's user.
    path = home / "publish_salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
