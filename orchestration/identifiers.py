"""How identifiers are normalized, in Python and in DuckDB SQL: one definition for ingestion, identity and privacy.

The staging macro `normalize_email` does the same in dbt: statuses, suppression hashes and lookups are keyed by
the normalized value. Python cannot call a dbt macro, so the rule is written here once for the Python side.
"""

import re

import phonenumbers

# DuckDB's regexp_replace replaces the first match only, as count=1 does below.
NORMALIZE_EMAIL_SQL = "nullif(regexp_replace(lower(trim({expr})), '[+][^@]*@', '@'), '')"
_TAG = re.compile(r"[+][^@]*@")


def normalize_email(value: str) -> str | None:
    """Lower case, trimmed, without a `+tag`: the form every table keys an email by."""
    return _TAG.sub("@", value.strip().lower(), count=1) or None


def to_e164(raw_phone: str, region: str) -> str | None:
    """E.164 for a valid number as typed, else None (parsable but impossible numbers are not valid)."""
    try:
        parsed = phonenumbers.parse(raw_phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
