"""What `omnichannel forget` would erase, worked out before anything is written: the request, the person, the plan.

A request names the person by one identifier, validated first: an email that `email-validator` accepts, a phone
that `phonenumbers` holds valid for the configured region, or a warehouse customer id. Exactly one customer must
hold it in `marts.customer_identifier`; a value that names nobody, or more than one person, is refused.

The identifiers listed are the ones that customer alone holds. One that another customer holds too (a recycled
phone number, now someone else's) or that identity resolution found shared (a family tablet's device id) is kept
and named in the plan: listing it would erase the other person's records, and keep erasing them.

The plan counts the records that hold a listed value in a person field of the source registry, per source, and the
quarantined lines that would lose their text; `forget.erase` then does exactly that.
"""

from dataclasses import dataclass

import duckdb
from email_validator import EmailNotValidError, validate_email

from orchestration.identifiers import normalize_email, to_e164
from orchestration.ingestion.sources import RAW_TABLES
from orchestration.privacy import suppression
from orchestration.warehouse import tables_in

USAGE_ERROR = 2  # the request is malformed: argparse's exit code
REFUSED = 1  # well-formed, but forget will not act on it
LABELS = {"email": "email", "phone": "phone", "customer_id": "customer id"}


class ForgetRefused(Exception):
    """A request that forget turns down before writing anything, with the exit code the command ends with."""

    def __init__(self, message: str, exit_code: int = REFUSED):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Request:
    kind: str  # "email", "phone" or "customer_id"
    value: str  # normalized: an email as every table keys it, a phone in E.164, an id trimmed

    def __str__(self) -> str:
        return f"{LABELS[self.kind]} {self.value}"


@dataclass(frozen=True)
class Person:
    request: Request
    customer_id: str
    identifiers: tuple[tuple[str, str], ...]  # (type, value) this customer alone holds: what is listed
    kept: tuple[tuple[str, str, str], ...]  # (type, value, why) held with someone else: not listed


@dataclass(frozen=True)
class ErasurePlan:
    person: Person
    values: tuple[str, ...]  # what goes on the suppression list: the identifiers, and the phones as typed
    records: dict[str, int]  # raw records to erase, per source
    quarantined_lines: int  # quarantined lines whose text is to be erased

    @property
    def total(self) -> int:
        return sum(self.records.values()) + self.quarantined_lines

    def describe(self) -> str:
        sources = {source: n for source, n in sorted(self.records.items()) if n}
        by_source = ", ".join(f"{source}: {n}" for source, n in sources.items()) or "none"
        line = (
            f"will erase {sum(sources.values())} records from {len(sources)} sources ({by_source}) "
            f"and the text of {self.quarantined_lines} quarantined lines, for customer "
            f"{self.person.customer_id} ({self.person.request}): {len(self.person.identifiers)} identifiers listed"
        )
        if self.person.kept:
            line += "; kept, as they name someone else too: " + ", ".join(
                f"{kind} {value} ({why})" for kind, value, why in self.person.kept
            )
        return line


def parse_request(
    *, email: str | None = None, phone: str | None = None, customer_id: str | None = None, region: str
) -> Request:
    """The one identifier given, validated and normalized; ForgetRefused (usage error) for anything else."""
    given = [
        (kind, value)
        for kind, value in (("email", email), ("phone", phone), ("customer_id", customer_id))
        if value is not None
    ]
    if len(given) != 1:
        raise ForgetRefused("name the person with exactly one of --email, --phone, --customer-id", USAGE_ERROR)
    kind, typed = given[0]
    text = typed.strip()
    if not text:
        raise ForgetRefused(f"the {LABELS[kind]} is empty", USAGE_ERROR)
    if kind == "email":
        try:
            validate_email(text, check_deliverability=False)
        except EmailNotValidError as error:
            raise ForgetRefused(f"not an email address: {typed!r} ({error})", USAGE_ERROR) from None
        return Request("email", normalize_email(text))
    if kind == "phone":
        e164 = to_e164(text, region)
        if e164 is None:
            raise ForgetRefused(f"not a valid phone number for region {region}: {typed!r}", USAGE_ERROR)
        return Request("phone", e164)
    return Request("customer_id", text)


def _holders(con: duckdb.DuckDBPyConnection, request: Request) -> list[str]:
    if request.kind == "customer_id":
        tables = [t for t in ("customer_identifier", "dim_customer") if t in tables_in(con, "marts")]
        found = any(
            con.execute(f"select 1 from marts.{t} where customer_id = ? limit 1", [request.value]).fetchall()
            for t in tables
        )
        return [request.value] if found else []
    return [
        r[0]
        for r in con.execute(
            """select customer_id from marts.customer_identifier where identifier_type = ? and identifier_value = ?
           group by customer_id order by min(valid_from) nulls first, customer_id""",
            [request.kind, request.value],
        ).fetchall()
    ]


def find_person(con: duckdb.DuckDBPyConnection, request: Request) -> Person:
    """The one customer the request names, and which of their identifiers can be listed; else ForgetRefused."""
    if "customer_identifier" not in tables_in(con, "marts"):
        raise ForgetRefused("the warehouse has no marts.customer_identifier yet: run `omnichannel run` first")
    holders = _holders(con, request)
    if not holders:
        raise ForgetRefused(f"no customer holds {request}: nothing erased")
    if len(holders) > 1:
        raise ForgetRefused(
            f"{request} is held by {len(holders)} customers ({', '.join(holders)}), one after the "
            "other or at once: name the one to forget with --customer-id"
        )
    customer_id = holders[0]
    rows = con.execute(
        """select i.identifier_type, i.identifier_value, bool_or(i.is_shared),
                  (select list(distinct o.customer_id order by o.customer_id) from marts.customer_identifier o
                   where o.identifier_type = i.identifier_type and o.identifier_value = i.identifier_value
                     and o.customer_id <> ?)
           from marts.customer_identifier i where i.customer_id = ?
           group by i.identifier_type, i.identifier_value order by all""",
        [customer_id, customer_id],
    ).fetchall()
    listed, kept = [], []
    for kind, value, is_shared, others in rows:
        if others:
            kept.append((kind, value, "also " + ", ".join(others)))
        elif is_shared:
            kept.append((kind, value, "shared by several people"))
        else:
            listed.append((kind, value))
    if not listed:
        # Their records are found through identifiers that name someone else too: erasing those would erase them.
        raise ForgetRefused(
            f"customer {customer_id} ({request}) holds no identifier of their own, only "
            f"{', '.join(f'{kind} {value}' for kind, value, _ in kept) or 'none'}: nothing erased"
        )
    return Person(request, customer_id, tuple(listed), tuple(kept))


def plan_erasure(con: duckdb.DuckDBPyConnection, person: Person) -> ErasurePlan:
    """Count what listing the person's identifiers erases; writes nothing (temp tables only)."""
    values = [value for _, value in person.identifiers]
    raw_tables = tables_in(con, "raw")
    phones = [value for kind, value in person.identifiers if kind == "phone"]
    if phones and "phone_numbers" in raw_tables:
        # Every way the numbers were typed, so that records keyed by the phone as typed match too.
        values += [
            r[0]
            for r in con.execute(
                "select distinct raw_phone from raw.phone_numbers where list_contains(?, e164) order by 1", [phones]
            ).fetchall()
        ]
    values = list(dict.fromkeys(values))
    suppression.stage(con, values)
    salt = suppression.salt()
    listed = suppression.CANDIDATES_SQL
    records: dict[str, int] = {}
    quarantined = 0
    for table in RAW_TABLES:
        if table.table in raw_tables:
            hit = suppression.matches_sql("record", "null::varchar", table, salt, listed)
            n = con.execute(f"select count(*) from raw.{table.table} where {hit}").fetchall()[0][0]
            records[table.source] = records.get(table.source, 0) + n
        if "quarantine" in raw_tables:
            hit = suppression.matches_sql(
                suppression.record_of_line_sql("raw_line", table), "raw_line", table, salt, listed
            )
            quarantined += con.execute(
                f"select count(*) from raw.quarantine where table_name = ? and raw_line is not null and {hit}",
                [table.table],
            ).fetchall()[0][0]
    return ErasurePlan(person, tuple(values), records, quarantined)
