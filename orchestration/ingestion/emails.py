"""Verifies every distinct email seen in raw, offline, into `raw.email_addresses` with an `email_status`.

Statuses, first match wins: `invalid` (syntax, by `email-validator` with deliverability checks off),
`typo` (one or two keystrokes away from a common mailbox provider, like gmial.com), `disposable` (the
`disposable-email-domains` blocklist), `role` (a shared mailbox such as info@ or sales@), else `valid`.
Like phones, only addresses not yet verified are checked, so a daily run checks a day's new addresses.
"""

from functools import lru_cache

import duckdb
import pyarrow as pa
from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS  # noqa: N812 (a constant set)
from email_validator import EmailNotValidError, validate_email

from orchestration.identifiers import NORMALIZE_EMAIL_SQL
from orchestration.ingestion.sources import raw_field_values_sql
from orchestration.warehouse import tables_in

EMAIL_DDL = """
create schema if not exists raw;
create table if not exists raw.email_addresses (email varchar, email_status varchar, reason varchar);
"""

# Mailbox providers whose near-misses are typos rather than real domains.
COMMON_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "ymail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "yahoo.co.uk",
        "hotmail.co.uk",
        "gmx.com",
        "gmx.de",
        "web.de",
        "mail.com",
    }
)
ROLE_LOCAL_PARTS = frozenset(
    {
        "info",
        "sales",
        "support",
        "admin",
        "contact",
        "office",
        "hello",
        "help",
        "billing",
        "accounts",
        "marketing",
        "team",
        "hr",
        "jobs",
        "careers",
        "enquiries",
        "inquiries",
        "webmaster",
        "postmaster",
        "hostmaster",
        "abuse",
        "noreply",
        "no-reply",
        "orders",
        "service",
        "customerservice",
        "reception",
    }
)


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@lru_cache(maxsize=100_000)
def typo_of(domain: str) -> str | None:
    """The common provider a domain is a likely misspelling of, or None."""
    if domain in COMMON_DOMAINS:
        return None
    for common in sorted(COMMON_DOMAINS):
        limit = 1 if len(common) < 9 else 2
        if abs(len(common) - len(domain)) <= limit and _edit_distance(domain, common) <= limit:
            return common
    return None


def classify(email: str) -> tuple[str, str]:
    """(email_status, reason) for one normalized address."""
    try:
        parsed = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        return "invalid", str(error)
    domain = parsed.ascii_domain.lower()
    # Squatters register misspellings of big providers, so some typos are on the disposable list too: one
    # keystroke from a provider, the customer meant the provider, which is what a typo status tells the CRM to
    # fix. Two keystrokes away is as far as a listed throwaway service's own name (yopmail.com, from hotmail.com).
    suggestion = typo_of(domain)
    if suggestion and (domain not in DISPOSABLE_DOMAINS or _edit_distance(domain, suggestion) <= 1):
        return "typo", f"{domain} looks like a misspelling of {suggestion}"
    if domain in DISPOSABLE_DOMAINS:
        return "disposable", f"{domain} is a disposable-mail domain"
    local = parsed.local_part.lower()
    if local in ROLE_LOCAL_PARTS:
        return "role", f"{local}@ is a role account"
    return "valid", ""


def verify_new_emails(con: duckdb.DuckDBPyConnection) -> dict:
    """Add a status for every normalized address not yet verified; returns counts per status for the UI."""
    con.execute(EMAIL_DDL)
    seen = raw_field_values_sql(tables_in(con, "raw"), lambda t: t.email_fields)
    # A wildcard (lead-form answers) lists every answer; the ones with an @ are the addresses.
    new = [
        r[0]
        for r in con.execute(
            f"""select distinct email from (
                select {NORMALIZE_EMAIL_SQL.format(expr="value")} as email from ({seen})
                where not from_list or value like '%@%')
            where email is not null and email not in (select email from raw.email_addresses)
            order by email"""
        ).fetchall()
    ]
    results = [classify(e) for e in new]
    batch = pa.table({"email": new, "email_status": [r[0] for r in results], "reason": [r[1] for r in results]})
    con.register("_new_emails", batch)
    con.execute("insert into raw.email_addresses select * from _new_emails")
    con.unregister("_new_emails")
    by_status = dict(
        con.execute("select email_status, count(*) from raw.email_addresses group by 1 order by 1").fetchall()
    )
    return {"new_email_addresses": len(new), **{f"email_{status}": n for status, n in by_status.items()}}
