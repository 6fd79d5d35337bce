"""The eleven landing sources: where their files are, how lines are keyed, which fields are required.

This registry is the single description of the landing-zone contract (`../shared/CHANNELS.md`) that
ingestion needs; staging types the rest of each record in dbt.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RawTable:
    """One raw table: a source's files of one shape."""

    source: str  # the landing folder, and the `_control` source name
    table: str  # the table in schema `raw`, and the Dagster asset name under key prefix `raw`
    format: str  # "jsonl" or "csv"
    file_glob: str  # matched inside `<landing>/<source>/<day>/`
    event_id_fields: tuple[str, ...]  # the vendor's dedup key, joined with '|'
    required_fields: tuple[str, ...]  # JSON paths that must be present and non-empty
    phone_fields: tuple[str, ...] = field(default=())  # JSON paths holding phone numbers as typed
    email_fields: tuple[str, ...] = field(default=())  # JSON paths holding email addresses as typed
    # JSON paths holding the other identifiers of a person: CRM, shop and loyalty ids, cookies, devices, handles,
    # click ids (what identity resolution reads, `dbt_project/macros/identity_specs.sql`).
    identifier_fields: tuple[str, ...] = field(default=())
    description: str = ""

    @property
    def asset_name(self) -> str:
        return self.table

    @property
    def person_fields(self) -> tuple[str, ...]:
        """Every JSON path that names a person: where `omnichannel forget` looks, and nowhere else."""
        return tuple(dict.fromkeys(self.email_fields + self.phone_fields + self.identifier_fields))

    @property
    def scalar_fields(self) -> tuple[str, ...]:
        """Every path that must hold one scalar value: the dedup key and each identifier (lists excluded)."""
        paths = self.event_id_fields + self.email_fields + self.phone_fields + self.identifier_fields
        return tuple(p for p in dict.fromkeys(paths) if "[*]" not in p)


def _j(*names: str) -> tuple[str, ...]:
    return tuple(names)


RAW_TABLES: tuple[RawTable, ...] = (
    RawTable(
        "email",
        "email",
        "jsonl",
        "*.jsonl*",
        _j("sg_event_id"),
        _j("sg_event_id", "email", "timestamp", "event"),
        email_fields=_j("email"),
        identifier_fields=_j("customer_id"),
        description="SendGrid event webhook events",
    ),
    RawTable(
        "sms",
        "sms",
        "jsonl",
        "*.jsonl*",
        _j("sid"),
        _j("sid", "from", "to", "status", "direction", "date_sent"),
        phone_fields=_j("from", "to"),
        description="Twilio messages, one line per message",
    ),
    RawTable(
        "push",
        "push",
        "csv",
        "*.csv*",
        _j("notification_id", "player_id", "event"),
        _j("notification_id", "player_id", "event", "event_time"),
        identifier_fields=_j("player_id", "external_user_id"),
        description="push provider delivery log",
    ),
    RawTable(
        "web",
        "web",
        "jsonl",
        "*.jsonl*",
        _j("messageId"),
        _j("messageId", "type", "anonymousId", "timestamp"),
        phone_fields=_j("traits.phone"),
        email_fields=_j("traits.email"),
        identifier_fields=_j("anonymousId", "userId"),
        description="Segment web events",
    ),
    RawTable(
        "app",
        "app",
        "jsonl",
        "*.jsonl*",
        _j("messageId"),
        _j("messageId", "type", "anonymousId", "timestamp"),
        phone_fields=_j("traits.phone"),
        email_fields=_j("traits.email"),
        identifier_fields=_j("anonymousId", "userId", "context.device.id", "context.device.advertisingId"),
        description="Segment iOS/Android events",
    ),
    RawTable(
        "ads",
        "ads",
        "csv",
        "*.csv*",
        _j("click_id"),
        _j("click_id", "network", "campaign_id", "click_time"),
        identifier_fields=_j("click_id"),
        description="Google Ads / Meta click exports",
    ),
    RawTable(
        "social",
        "social",
        "jsonl",
        "*.jsonl*",
        _j("event_id"),
        _j("event_id", "platform", "action", "created_time"),
        phone_fields=_j("field_data[*].values[*]"),
        email_fields=_j("field_data[*].values[*]"),
        identifier_fields=_j("handle"),
        description="Instagram/Facebook engagement and lead forms",
    ),
    RawTable(
        "orders",
        "orders",
        "jsonl",
        "*.jsonl*",
        _j("id", "updated_at"),
        _j("id", "created_at", "updated_at", "total_price", "currency"),
        phone_fields=_j("phone"),
        email_fields=_j("email"),
        identifier_fields=_j("customer.id"),
        description="Shopify orders, one line per exported version",
    ),
    RawTable(
        "pos",
        "pos",
        "csv",
        "*.csv*",
        _j("receipt_id"),
        _j("store_id", "receipt_id", "local_time", "store_tz", "total_cents", "type"),
        phone_fields=_j("phone"),
        email_fields=_j("email"),
        identifier_fields=_j("loyalty_id"),
        description="in-store point of sale transactions",
    ),
    RawTable(
        "support",
        "support",
        "jsonl",
        "*.jsonl*",
        _j("id"),
        _j("id", "created_at", "via.channel"),
        phone_fields=_j("requester.phone"),
        email_fields=_j("requester.email"),
        description="Zendesk tickets",
    ),
    RawTable(
        "crm",
        "crm_customers",
        "csv",
        "customers.csv*",
        _j("customer_id", "email", "phone", "created_at"),
        _j("customer_id", "created_at"),
        phone_fields=_j("phone"),
        email_fields=_j("email"),
        identifier_fields=_j("customer_id", "loyalty_id", "instagram_handle"),
        description="CRM customers",
    ),
    RawTable(
        "crm",
        "crm_consents",
        "jsonl",
        "consents.jsonl*",
        _j("customer_id", "email", "phone", "channel", "status", "changed_at"),
        _j("channel", "status", "changed_at"),
        phone_fields=_j("phone"),
        email_fields=_j("email"),
        identifier_fields=_j("customer_id"),
        description="CRM consent log",
    ),
)

SOURCES: tuple[str, ...] = tuple(dict.fromkeys(t.source for t in RAW_TABLES))


def raw_field_values_sql(existing_tables: set[str] | list[str], fields_of) -> str:
    """Every value at the JSON paths `fields_of(table)` names, over the raw tables that exist, as columns
    (value, from_list). A wildcard path (lead-form answers) yields one row per list element, with from_list true."""

    def value(field: str) -> str:
        extract = f"json_extract_string(record, '$.{field}')"
        return f"unnest({extract})" if "[*]" in field else extract

    selects = [
        f"select {value(field)} as value, {'true' if '[*]' in field else 'false'} as from_list "
        f"from raw.{t.table} where not _is_duplicate"
        for t in RAW_TABLES
        if t.table in existing_tables
        for field in fields_of(t)
    ]
    return " union ".join(selects) if selects else "select null::varchar as value, false as from_list where false"


def tables_for(source: str) -> tuple[RawTable, ...]:
    return tuple(t for t in RAW_TABLES if t.source == source)
