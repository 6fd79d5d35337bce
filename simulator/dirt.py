"""Delivery dirt: late arrivals, duplicates, corrupted copies, schema drift and unknown event types.

Design rule: a default world (no `--fault`) reconciles exactly with its `_control` totals.
- Duplicates are exact re-sends of a line (same event id), in the same or the next delivery folder.
- Late events land 1-3 delivery folders after their event day; one that would land after the last day is still in
  flight (not written; `_truth/in_flight.parquet` lists it).
- Malformed, truncated and missing-required lines are *extra corrupted copies* of events that are also
  delivered intact, like a crashed export that was retried.
- Unknown fields: some intact lines carry an extra field the contract does not know yet.
- Unknown event types are real extra events of a type the contract does not list (the vendor added one);
  the source counts them in `_control` like any other event.
The writer lists every dirty line with its file and line in `_truth/faults.json`.
"""

import json

import numpy as np
import pandas as pd

from simulator import faults as sync_faults
from simulator.streams import Streams

# Sources whose export is a full daily file with no replays: the CRM hands over clean snapshots.
CLEAN_TABLES = {"crm_customers", "crm_consents"}
JSON_TABLES = {"email", "sms", "web", "app", "social", "orders", "support", "crm_consents"}
# Per table: the event-type field and the new value a vendor started sending.
UNKNOWN_TYPES = {
    "email": ("event", "group_resubscribe"),
    "web": ("type", "alias"),
    "app": ("type", "alias"),
    "social": ("action", "save"),
}
ID_FIELDS = {"email": "sg_event_id", "web": "messageId", "app": "messageId", "social": "event_id"}


def event_days(values) -> np.ndarray:
    return pd.to_datetime(values).to_numpy().astype("datetime64[D]")


def among(values, ids: np.ndarray) -> np.ndarray:
    """`values.isin(ids)` on plain object arrays: pandas' Arrow strings check membership value by value in Python."""
    return pd.Index(np.asarray(values, dtype=object)).isin(ids)


def below_rate(draws: np.ndarray, rate: float, days: np.ndarray) -> np.ndarray:
    """`draws < rate`, and the smallest draw of the first day too when that picks nothing there at a positive rate.

    Every kind of dirt then shows in every world from its first day on, whatever its size and seed, without a draw
    more; the rule looks at the first day alone, so a longer world picks the same lines.
    """
    mask = draws < rate
    if rate > 0 and len(draws):
        first = np.flatnonzero(days == days.min())
        if not mask[first].any():
            mask[first[np.argmin(draws[first])]] = True
    return mask


def add_unknown_event_types(seed: int, name: str, lines: pd.DataFrame, rate: float) -> pd.DataFrame:
    """Extra events of a type the contract does not list, copied from real ones (a few per thousand at most)."""
    if name not in UNKNOWN_TYPES or rate <= 0 or lines.empty:
        return lines
    field, value = UNKNOWN_TYPES[name]
    rng = Streams(seed, "unknown_event_type", name)
    picked = lines[below_rate(rng.random(len(lines)), rate, event_days(lines["at"]))].copy()
    if picked.empty:
        return lines
    new_lines = []
    for line in picked["line"]:  # a few lines only: rate is ~1e-3
        record = json.loads(line)
        record[ID_FIELDS[name]] = f"{record[ID_FIELDS[name]]}-x"
        record[field] = value
        if name in ("web", "app"):  # a Segment alias call: the previous id it merges
            for key in ("event", "name", "properties", "traits"):
                record.pop(key, None)
            record["previousId"] = record["anonymousId"]
        if name == "email":
            record.pop("url", None)
        new_lines.append(json.dumps(record, separators=(",", ":")))
    picked["line"] = new_lines
    picked["event_id"] = picked["event_id"] + "-x"
    picked["metric"] = value
    picked["tag"] = "unknown_event_type"
    # In time order, as the lines are: every later draw over them then sees a longer world's first rows first.
    return pd.concat([lines, picked], ignore_index=True).sort_values(["at", "event_id"], kind="mergesort")


def deliver(
    seed: int,
    name: str,
    source: str,
    lines: pd.DataFrame,
    rates: dict,
    faults: list[sync_faults.Fault],
) -> tuple[pd.DataFrame, list[dict]]:
    """Decide each line's delivery day and add dirt; returns the lines to deliver (some of them after the last day:
    the caller writes the rest) and the fault rows. `lines` are in time order.

    The sync faults draw from streams of their own, so that a fault changes only the lines it drops or delays.
    """
    rng, fault_rng = Streams(seed, "dirt", name), Streams(seed, "faults", name)
    lines = lines.reset_index(drop=True)
    out = lines[["event_id", "line", "person", "tag"]].copy()
    out["event_day"] = event_days(lines["at"])
    out["delivery_day"] = out["event_day"]
    out["kind"] = "event"
    if name not in CLEAN_TABLES:
        late = rng.random(len(out)) < rates["late"]
        out.loc[late, "delivery_day"] = out.loc[late, "event_day"] + rng.integers(1, 4, late.sum()).astype(
            "timedelta64[D]"
        )
        out.loc[late, "kind"] = "late"
    # The faults are applied last, to the clean world's lines: every draw below is the one a world without the
    # fault makes, so a faulted world differs only in the lines the fault lost or delayed (and their copies).
    out["_row"] = np.arange(len(out))
    faulted, manifest = sync_faults.apply(fault_rng, source, name, out.copy(), faults)
    if name in CLEAN_TABLES:
        return faulted.drop(columns="_row"), manifest
    copies = [out]
    dup = out[rng.random(len(out)) < rates["duplicate"]].copy()
    dup["delivery_day"] = dup["delivery_day"] + rng.integers(0, 2, len(dup)).astype("timedelta64[D]")
    dup["kind"] = "duplicate"
    copies.append(dup)
    is_json = name in JSON_TABLES
    for kind in ("malformed_json", "truncated", "missing_required"):
        rate = rates["malformed"] if kind == "malformed_json" else rates[kind]
        bad = out[below_rate(rng.random(len(out)), rate, out["event_day"].to_numpy())].copy()
        if kind == "malformed_json" and not is_json:
            kind = "truncated"  # a CSV cannot hold bad JSON; a cut-short row is its broken line
        bad["line"] = [corrupt(line, kind, is_json) for line in bad["line"]]  # few lines: rate ~1e-3
        bad["kind"] = kind
        copies.append(bad)
    delivered = pd.concat(copies, ignore_index=True)
    if is_json:
        events = (delivered["kind"] == "event").to_numpy()
        drift = np.zeros(len(delivered), bool)
        drift[events] = below_rate(
            rng.random(len(delivered))[events], rates["unknown_field"], delivered["event_day"].to_numpy()[events]
        )
        delivered.loc[drift, "line"] = '{"x_schema_drift":"new field",' + delivered.loc[drift, "line"].str.slice(1)
        delivered.loc[drift, "kind"] = "unknown_field"
    delivered = _apply_faults(delivered, out, faulted)
    delivered["delivery_day"] = delivered["delivery_day"].to_numpy().astype("datetime64[D]")
    return delivered, manifest


def _apply_faults(delivered: pd.DataFrame, clean: pd.DataFrame, faulted: pd.DataFrame) -> pd.DataFrame:
    """Drop every copy of a lost line, and move every copy of a delayed line by the line's delay."""
    if len(faulted) == len(clean) and (faulted["delivery_day"].to_numpy() == clean["delivery_day"].to_numpy()).all():
        return delivered.drop(columns="_row")
    kept = pd.Series(faulted["delivery_day"].to_numpy(), index=faulted["_row"].to_numpy())
    delivered = delivered[delivered["_row"].isin(kept.index)].copy()
    rows = delivered["_row"].to_numpy()
    shift = kept.reindex(rows).to_numpy() - clean["delivery_day"].to_numpy()[rows]
    delivered["delivery_day"] = delivered["delivery_day"].to_numpy() + shift
    return delivered.drop(columns="_row")


def corrupt(line: str, kind: str, is_json: bool) -> str:
    """One broken copy of a line: cut short, not JSON, or without its first (always required) field."""
    if kind == "truncated":
        return line[: max(5, len(line) * 3 // 5)] if is_json else ",".join(line.split(",")[:3])
    if kind == "malformed_json":
        return line.replace('":', '" ', 1)
    if is_json:
        record = json.loads(line)
        record.pop(next(iter(record)))  # the first field is always required (the vendor's id)
        return json.dumps(record, separators=(",", ":"))
    fields = line.split(",")
    fields[0] = ""  # the first column is always required
    return ",".join(fields)
