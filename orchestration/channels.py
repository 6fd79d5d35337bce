"""The channel registry, as the Python side reads it: var `channels` in `dbt_project/dbt_project.yml`.

One description of the channels serves both sides: the dbt models loop over it (`dbt_project/macros/channels.sql`)
and the quality suites, the attribution score and the benchmarks read it here. What each side derives from it
(touchpoint channels, consent channels, engagement, identity and sync sources) is computed alike on both, and
`tests/test_channel_registry.py` checks that they agree. docs/channels.md describes the fields.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from orchestration.settings import DBT_PROJECT_DIR

# The fields an entry may have, per part (as channel_registry_fields() in macros/channels.sql).
FIELDS: dict[str, tuple[str, ...]] = {
    "entry": (
        "model",
        "raw_table",
        "channel",
        "occurred_at",
        "event_date",
        "is_bot",
        "consent",
        "identity",
        "touchpoints",
        "sync",
    ),
    "identity": ("identifiers", "contact_trust", "checkout_links"),
    "touchpoints": (
        "touch_type",
        "direction",
        "campaign_id",
        "device_type",
        "traffic_channel",
        "sessions",
        "engagement",
        "utm_mediums",
        "exposure",
        "kpis",
    ),
    "sync": ("counts", "sums"),
    "counts": ("metric", "distinct_key"),
    "sums": ("value", "once_per", "first_by"),
}
# The identifier type an entry names for the login id (Segment's userId, the ESP's customer_id, push's external id).
USER_ID = "user_id"


class RegistryError(ValueError):
    """The channel registry is malformed; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Stream:
    """One registry entry: a staged stream of records and what it feeds."""

    name: str  # the record source: record_id prefix, int_identity_occurrences.source, the `_control` source
    model: str
    raw_table: str | None
    channel: str | None
    consent: bool
    identity: Mapping[str, Any] | None
    touchpoints: Mapping[str, Any] | None
    sync: Mapping[str, Any] | None


@dataclass(frozen=True)
class ChannelRegistry:
    streams: tuple[Stream, ...]
    identifier_types: tuple[str, ...]  # var identity_priority's keys, most trusted first
    user_id_type: str  # var identity_user_id_type

    def _with(self, part: str) -> list[Stream]:
        return [s for s in self.streams if getattr(s, part) is not None]

    def stream(self, name: str) -> Stream:
        return next(s for s in self.streams if s.name == name)

    def touchpoint_channels(self) -> list[str]:
        """fct_touchpoint's channels, in registry order."""
        return list(dict.fromkeys(s.channel for s in self._with("touchpoints")))

    def session_channels(self) -> list[str]:
        return list(dict.fromkeys(s.channel for s in self._with("touchpoints") if s.touchpoints.get("sessions")))

    def consent_channels(self) -> list[str]:
        """The channels with a consent status: dim_customer has a `<channel>_consent` column for each."""
        return list(dict.fromkeys(s.channel for s in self.streams if s.consent))

    def engagement_touches(self) -> dict[str, list[str]]:
        touches: dict[str, list[str]] = {}
        for s in self._with("touchpoints"):
            types = touches.setdefault(s.channel, [])
            types.extend(t for t in s.touchpoints.get("engagement") or [] if t not in types)
        return touches

    def traffic_channel_by_utm_medium(self) -> dict[str, str]:
        return {m: s.channel for s in self._with("touchpoints") for m in s.touchpoints.get("utm_mediums") or []}

    def exposure_touches(self) -> dict[str, list[str]]:
        """Marketing channels: the touch types one exposure is counted in (the simulator's unit of effect)."""
        return {
            s.channel: list(s.touchpoints["exposure"])
            for s in self._with("touchpoints")
            if s.touchpoints.get("exposure")
        }

    def send_touches(self) -> dict[str, list[str]]:
        """Per channel, the touch types that are one message the brand sent (the `sends` KPI): frequency caps and
        consent checks count them."""
        touches: dict[str, list[str]] = {}
        for s in self._with("touchpoints"):
            sends = (s.touchpoints.get("kpis") or {}).get("sends")
            if sends:
                types = touches.setdefault(s.channel, [])
                types.extend(t for t in sends if t not in types)
        return touches

    def engaged_channel_by_source(self) -> dict[str, str]:
        """Record source -> the channel a customer engaged on when it holds a record of theirs."""
        return {s.name: s.channel for s in self.streams if s.channel}

    def identity_sources(self) -> list[str]:
        return [s.name for s in self._with("identity")]

    def identity_identifier_types(self) -> list[str]:
        """The identifier types the identity records hold, with `user_id` resolved."""
        return sorted(
            {
                self.user_id_type if t == USER_ID else t
                for s in self._with("identity")
                for t in s.identity["identifiers"]
            }
        )

    def contact_trust(self) -> dict[str, int]:
        return {
            s.name: s.identity["contact_trust"]
            for s in self._with("identity")
            if s.identity.get("contact_trust") is not None
        }

    def sync_sources(self) -> list[str]:
        """The `_control` sources whose totals the warehouse's are checked against."""
        return [s.name for s in self._with("sync")]

    def sync_sums(self) -> dict[str, list[str]]:
        return {s.name: list(s.sync.get("sums") or {}) for s in self._with("sync")}

    def views(self) -> dict[str, Any]:
        """What both sides derive from the registry, keyed as channel_registry_views() in macros/channels.sql."""
        return {
            "fields": {part: list(names) for part, names in FIELDS.items()},
            "touchpoint_channels": self.touchpoint_channels(),
            "session_channels": self.session_channels(),
            "consent_channels": self.consent_channels(),
            "engagement_touches": self.engagement_touches(),
            "traffic_channel_by_utm_medium": self.traffic_channel_by_utm_medium(),
            "exposure_touches": self.exposure_touches(),
            "send_touches": self.send_touches(),
            "engaged_channel_by_source": self.engaged_channel_by_source(),
            "identity_sources": self.identity_sources(),
            "identity_identifier_types": self.identity_identifier_types(),
            "contact_trust": self.contact_trust(),
            "sync_sources": self.sync_sources(),
            "sync_sums": self.sync_sums(),
            "identifier_types": list(self.identifier_types),
        }


def _problems(name: str, entry: Any, identifier_types: set[str]) -> list[str]:
    if not isinstance(entry, Mapping):
        return [f"is {type(entry).__name__}, not a mapping"]
    problems = [f"unknown field {key}" for key in entry if key not in FIELDS["entry"]]
    for part in ("identity", "touchpoints", "sync"):
        if entry.get(part) is not None:
            if not isinstance(entry[part], Mapping):
                problems.append(f"{part} is not a mapping")
                continue
            problems += [f"unknown field {part}.{key}" for key in entry[part] if key not in FIELDS[part]]
    if problems:
        return problems
    if not entry.get("model"):
        problems.append("no model")
    touchpoints = entry.get("touchpoints")
    if touchpoints is not None:
        problems += [f"no touchpoints.{key}" for key in ("touch_type", "direction") if touchpoints.get(key) is None]
        if not entry.get("channel"):
            problems.append("touchpoints without a channel")
    identity = entry.get("identity")
    if identity is not None:
        if not identity.get("identifiers"):
            problems.append("identity without identifiers")
        named = set(identity.get("identifiers") or {}) | set(identity.get("checkout_links") or [])
        problems += [
            f"identity: unknown identifier type {t} (not in var identity_priority)"
            for t in sorted(named - identifier_types - {USER_ID})
        ]
    sync = entry.get("sync")
    if sync is not None:
        problems += [
            f"unknown field sync.counts.{key}" for key in sync.get("counts") or {} if key not in FIELDS["counts"]
        ]
        for metric, spec in (sync.get("sums") or {}).items():
            problems += [f"unknown field sync.sums.{metric}.{key}" for key in spec if key not in FIELDS["sums"]]
            if spec.get("value") is None:
                problems.append(f"no sync.sums.{metric}.value")
    return problems


def load(project_dir: Path | str = DBT_PROJECT_DIR) -> ChannelRegistry:
    """The registry of the dbt project in `project_dir`, checked; RegistryError names what is wrong."""
    path = Path(project_dir) / "dbt_project.yml"
    try:
        variables = (yaml.safe_load(path.read_text()) or {}).get("vars") or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot read the channel registry: {exc}") from exc
    entries = variables.get("channels")
    if not isinstance(entries, Mapping) or not entries:
        raise RegistryError(f"{path}: var channels is missing or empty")
    identifier_types = tuple(variables.get("identity_priority") or ())
    problems = [
        f"entry '{name}': {problem}"
        for name, entry in entries.items()
        for problem in _problems(name, entry, set(identifier_types))
    ]
    if problems:
        raise RegistryError(f"{path}: var channels: " + "; ".join(problems))
    streams = tuple(
        Stream(
            name=name,
            model=entry["model"],
            raw_table=entry.get("raw_table"),
            channel=entry.get("channel"),
            consent=bool(entry.get("consent")),
            identity=entry.get("identity"),
            touchpoints=entry.get("touchpoints"),
            sync=entry.get("sync"),
        )
        for name, entry in entries.items()
    )
    mediums: dict[str, str] = {}
    for s in streams:
        for medium in (s.touchpoints or {}).get("utm_mediums") or []:
            if mediums.setdefault(medium, s.channel) != s.channel:
                raise RegistryError(
                    f"{path}: var channels: utm_medium '{medium}' names both {mediums[medium]} and {s.channel}"
                )
    user_id_type = variables.get("identity_user_id_type")
    if not user_id_type:
        raise RegistryError(f"{path}: var identity_user_id_type is missing: it says what `{USER_ID}` identifies")
    return ChannelRegistry(streams, identifier_types, user_id_type)


@cache
def registry() -> ChannelRegistry:
    """The project's registry, read once per process."""
    return load()
