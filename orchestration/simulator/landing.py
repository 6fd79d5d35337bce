"""Puts clean lines through delivery: late arrivals, duplicates, corrupted copies, sync faults; writes files.

Corrupted lines (malformed, truncated, missing a required field) are extra copies of events that are also
delivered intact, like a crashed export that was retried, so a world without `--fault` reconciles exactly
with its `_control` totals. Every injected fault is listed with its file and line in the manifest.
"""
import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.simulator import records

# source folder, file stem and format of each clean line table.
LAYOUT = {
    "email": ("email", "sendgrid-events", "jsonl", None),
    "sms": ("sms", "twilio-messages", "jsonl", None),
    "push": ("push", "push-delivery", "csv", records.PUSH_HEADER),
    "web": ("web", "segment-web", "jsonl", None),
    "app": ("app", "segment-app", "jsonl", None),
    "ads": ("ads", "ad-clicks", "csv", records.ADS_HEADER),
    "social": ("social", "social-engagement", "jsonl", None),
    "orders": ("orders", "shopify-orders", "jsonl", None),
    "pos": ("pos", "pos-transactions", "csv", records.POS_HEADER),
    "support": ("support", "zendesk-tickets", "jsonl", None),
    "crm_customers": ("crm", "customers", "csv", records.CRM_HEADER),
    "crm_consents": ("crm", "consents", "jsonl", None),
}
# Sources whose export is a full daily file with no replays: the CRM hands over clean snapshots.
CLEAN_SOURCES = {"crm_customers", "crm_consents"}
ROWS_PER_FILE = 250_000


@dataclass(frozen=True)
class Fault:
    kind: str
    source: str
    day: str
    value: float

    @classmethod
    def parse(cls, spec: str) -> "Fault":
        try:
            kind, source, day, value = spec.split(":")
            pd.Timestamp(day)
            fault = cls(kind, source, day, float(value))
        except ValueError as exc:
            raise ValueError(f"bad --fault {spec!r}: expected drop|delay:<source>:<YYYY-MM-DD>:<number>") from exc
        if kind not in {"drop", "delay"}:
            raise ValueError(f"bad --fault {spec!r}: kind must be drop or delay")
        if source not in {layout[0] for layout in LAYOUT.values()}:
            raise ValueError(f"bad --fault {spec!r}: unknown source {source}")
        return fault


def _day(values) -> np.ndarray:
    return pd.to_datetime(values).to_numpy().astype("datetime64[D]")


def deliver(rng: np.random.Generator, name: str, lines: pd.DataFrame, rates: dict, faults: list[Fault],
            last_day: np.datetime64) -> tuple[pd.DataFrame, list[dict]]:
    """Decide each line's delivery day and add dirt; returns the delivered lines and the fault rows."""
    source = LAYOUT[name][0]
    out = lines[["event_id", "line", "person"]].copy()
    out["event_day"] = _day(lines["at"])
    out["delivery_day"] = out["event_day"]
    out["kind"] = "event"
    manifest: list[dict] = []
    if name not in CLEAN_SOURCES:
        late = rng.random(len(out)) < rates["late"]
        out.loc[late, "delivery_day"] = out.loc[late, "event_day"] + rng.integers(1, 4, late.sum()).astype("timedelta64[D]")
        out.loc[late, "kind"] = "late"
    for fault in faults:
        if fault.source != source:
            continue
        on_day = (out["event_day"] == np.datetime64(fault.day)).to_numpy()
        if fault.kind == "drop":
            dropped = on_day & (rng.random(len(out)) < fault.value)
            manifest += [{"kind": "drop", "source": source, "table": name, "day": fault.day, "event_id": e,
                          "detail": f"dropped from landing; still counted in _control"} for e in out.loc[dropped, "event_id"]]
            out = out[~dropped]
        else:
            out.loc[on_day, "delivery_day"] = out.loc[on_day, "event_day"] + np.timedelta64(int(fault.value), "D")
            manifest.append({"kind": "delay", "source": source, "table": name, "day": fault.day,
                             "detail": f"{int(on_day.sum())} events delivered {int(fault.value)} days late"})
    if name in CLEAN_SOURCES:
        return out, manifest
    copies = [out]
    dup = out[rng.random(len(out)) < rates["duplicate"]].copy()
    dup["delivery_day"] = dup["delivery_day"] + rng.integers(0, 2, len(dup)).astype("timedelta64[D]")
    dup["kind"] = "duplicate"
    copies.append(dup)
    is_json = LAYOUT[name][2] == "jsonl"
    for kind in ("malformed_json", "truncated", "missing_required"):
        rate = rates["malformed"] if kind == "malformed_json" else rates[kind]
        bad = out[rng.random(len(out)) < rate].copy()
        if kind == "malformed_json" and not is_json:
            kind = "truncated"
        bad["line"] = [_corrupt(line, kind, is_json) for line in bad["line"]]  # few lines: rate ~1e-3
        bad["kind"] = kind
        copies.append(bad)
    delivered = pd.concat(copies, ignore_index=True)
    if is_json:
        drift = (delivered["kind"] == "event").to_numpy() & (rng.random(len(delivered)) < rates["unknown_field"])
        delivered.loc[drift, "line"] = '{"x_schema_drift":"new field",' + delivered.loc[drift, "line"].str.slice(1)
        delivered.loc[drift, "kind"] = "unknown_field"
    delivered["delivery_day"] = np.minimum(delivered["delivery_day"].to_numpy().astype("datetime64[D]"), last_day)
    return delivered, manifest


def _corrupt(line: str, kind: str, is_json: bool) -> str:
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


def _gzip_it(share: float, *parts: str) -> bool:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return digest[0] / 256 < share


def write(out: Path, name: str, delivered: pd.DataFrame, gzip_share: float) -> tuple[list[dict], pd.DataFrame]:
    """Write one table's delivered lines; returns fault rows with file and line, and the per-file layout."""
    source, stem, fmt, header = LAYOUT[name]
    order = delivered.assign(_k=delivered["kind"].map({"event": 0, "late": 0, "unknown_field": 0}).fillna(1))
    order = order.sort_values(["delivery_day", "_k", "event_id", "kind"], kind="mergesort").reset_index(drop=True)
    # Spread corrupted and duplicate copies through the file rather than at its end.
    position = np.arange(len(order), dtype=float)
    dirty = (order["_k"] == 1).to_numpy()
    position[dirty] = np.linspace(0, len(order), dirty.sum()) if dirty.any() else position[dirty]
    order["_pos"] = position
    order = order.sort_values(["delivery_day", "_pos"], kind="mergesort").reset_index(drop=True)
    faults = []
    for day, group in order.groupby("delivery_day", sort=True):
        day_text = str(np.datetime64(day, "D"))
        folder = out / source / day_text
        folder.mkdir(parents=True, exist_ok=True)
        n_files = max(1, -(-len(group) // ROWS_PER_FILE))
        size = -(-len(group) // n_files)
        for k in range(n_files):
            chunk = group.iloc[k * size:(k + 1) * size]
            base = f"{stem}.{fmt}" if name.startswith("crm") else f"{stem}-{day_text}-{k}.{fmt}"
            compress = _gzip_it(gzip_share, name, day_text, str(k))
            path = folder / (base + (".gz" if compress else ""))
            text = "\n".join(([header] if header else []) + chunk["line"].tolist()) + "\n"
            if compress:
                path.write_bytes(gzip.compress(text.encode(), mtime=0))
            else:
                path.write_text(text)
            first_line = 2 if header else 1
            dirty_rows = chunk[chunk["kind"] != "event"]
            rel = path.relative_to(out).as_posix()
            lines = first_line + np.flatnonzero((chunk["kind"] != "event").to_numpy())
            faults += [{"kind": kind, "source": source, "table": name, "file": rel, "line": int(line),
                        "event_id": event_id, "day": day_text}
                       for kind, line, event_id in zip(dirty_rows["kind"], lines, dirty_rows["event_id"])]
    return faults, order


def control_totals(name: str, lines: pd.DataFrame) -> pd.DataFrame:
    """What the source system itself reports: distinct events by UTC event day (crm: rows by delivery day)."""
    frame = lines.assign(date=_day(lines["created_at"] if name == "orders" else lines["at"]))
    if name == "orders":
        first = frame[frame["version"] == 1]
        counts = first.groupby("date").size().rename("value").reset_index().assign(kind="count", metric="orders")
        sums = first.groupby("date")["amount"].sum().round(2).rename("value").reset_index().assign(kind="sum", metric="total_price")
        return pd.concat([counts, sums])
    counts = frame.groupby(["date", "metric"]).size().rename("value").reset_index().assign(kind="count")
    if name == "pos":
        sums = frame.groupby("date")["amount"].sum().round(2).rename("value").reset_index().assign(kind="sum", metric="total")
        return pd.concat([counts, sums])
    return counts


def write_control(out: Path, source: str, totals: pd.DataFrame) -> None:
    for date, group in totals.groupby("date"):
        day = str(np.datetime64(date, "D"))
        doc = {"source": source, "date": day,
               "counts": {m: int(v) for m, v in group[group["kind"] == "count"][["metric", "value"]].itertuples(index=False)},
               "sums": {m: round(float(v), 2) for m, v in group[group["kind"] == "sum"][["metric", "value"]].itertuples(index=False)}}
        path = out / "_control" / source / f"{day}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, sort_keys=True) + "\n")
