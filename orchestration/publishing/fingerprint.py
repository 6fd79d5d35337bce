"""What a release would hold, cheaply, so that a run that changed no mart publishes nothing new.

A release is a function of the warehouse's `marts` tables and of how they are copied: the identifier salt, the
hashing mode, which columns are hashed, the storage format. The fingerprint names all of it: per table its
columns and types, its row count and an order-independent digest of its rows (the sum of the row hashes, as a
hugeint, so a duplicate row counts twice instead of cancelling as under xor), in SQL, one scan per table. The
salt enters as a hash of itself, never in the clear: the manifest is published.

Floating-point columns enter at 10 significant digits: DuckDB's threads add a sum's doubles in an order that
varies from run to run, so a rebuild of the same data differs in the last bits (1e-16 relative) of many values.
"""

import hashlib

import duckdb

from orchestration.privacy.pii import is_pii_column
from orchestration.warehouse import tables_in

# Bumped when what the fingerprint covers changes, so an old manifest never matches a new fingerprint.
FINGERPRINT_VERSION = 1
_FLOATING = {"DOUBLE", "FLOAT", "REAL"}


def _salt_digest(salt: str | None) -> str | None:
    # Domain-separated: the digest published here is not the one any other place might keep of the salt.
    return None if salt is None else hashlib.sha256(b"omnichannel release fingerprint\0" + salt.encode()).hexdigest()


def marts_fingerprint(con: duckdb.DuckDBPyConnection, salt: str | None, storage_version: str) -> dict:
    """The fingerprint of the release `write_release` would write from `con`'s `marts` now (JSON-safe)."""
    tables = {}
    for table in tables_in(con, "marts"):
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        values = ", ".join(
            # `+ 0.0` makes -0.0 and 0.0 one value; nan, inf and null print as themselves.
            f'printf(\'%.9e\', "{name}" + 0.0) as "{name}"' if data_type in _FLOATING else f'"{name}"'
            for name, data_type in columns
        )
        # `hash(<alias>)` hashes the whole row as one struct; an alias no mart column is called.
        rows, digest = con.execute(
            f"select count(*), coalesce(sum(hash(fingerprinted_row)), 0)::hugeint::varchar "
            f'from (select {values} from marts."{table}") as fingerprinted_row'
        ).fetchall()[0]
        tables[table] = {
            "columns": [[name, data_type, salt is not None and is_pii_column(name)] for name, data_type in columns],
            "rows": rows,
            "digest": digest,
        }
    return {
        "version": FINGERPRINT_VERSION,
        "storage_version": storage_version,
        "identifiers": "salted sha256" if salt is not None else "clear text",
        "salt_sha256": _salt_digest(salt),
        "tables": tables,
    }
