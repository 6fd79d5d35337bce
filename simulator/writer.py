"""Writes the landing zone: the delivered lines per source and day, the `_control` totals.

File names: `<source>/<day>/<stem>-<day>-<k>.<ext>[.gz]` (k = 0, 1, ... when a day holds more than
`rows_per_file` lines); the CRM writes one `crm/<day>/customers.csv[.gz]` and one `crm/<day>/consents.jsonl[.gz]`
a day however long they are, as the contract names them.
Whether a file is gzipped is a hash of its name, so it does not depend on the random stream.
"""

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import channels
from simulator.dirt import event_days

# line table -> (source folder, file stem, format, CSV header)
LAYOUT = {
    "email": ("email", "sendgrid-events", "jsonl", None),
    "sms": ("sms", "twilio-messages", "jsonl", None),
    "push": ("push", "push-delivery", "csv", channels.PUSH_HEADER),
    "web": ("web", "segment-web", "jsonl", None),
    "app": ("app", "segment-app", "jsonl", None),
    "ads": ("ads", "ad-clicks", "csv", channels.ADS_HEADER),
    "social": ("social", "social-engagement", "jsonl", None),
    "orders": ("orders", "shopify-orders", "jsonl", None),
    "pos": ("pos", "pos-transactions", "csv", channels.POS_HEADER),
    "support": ("support", "zendesk-tickets", "jsonl", None),
    "crm_customers": ("crm", "customers", "csv", channels.CRM_HEADER),
    "crm_consents": ("crm", "consents", "jsonl", None),
}
ROWS_PER_FILE = 250_000
INTACT = ("event", "late", "unknown_field")


def _gzip_it(share: float, *parts: str) -> bool:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return digest[0] / 256 < share


def write(
    out: Path,
    name: str,
    delivered: pd.DataFrame,
    gzip_share: float,
    rows_per_file: int = ROWS_PER_FILE,
    only_day: str | None = None,
) -> list[dict]:
    """Write one table's delivered lines (all days, or `only_day`'s alone); returns the manifest rows of its dirty and
    tagged lines, of every day. A day's files depend on that day's lines alone."""
    source, stem, fmt, header = LAYOUT[name]
    order = delivered.assign(_k=(~delivered["kind"].isin(INTACT)).astype(int))
    order = order.sort_values(["delivery_day", "_k", "event_id", "kind"], kind="mergesort").reset_index(drop=True)
    # Spread corrupted and duplicate copies through each day's lines rather than at their end.
    position = np.arange(len(order), dtype=float)
    days, first, size = np.unique(order["delivery_day"].to_numpy(), return_index=True, return_counts=True)
    dirty = (order["_k"] == 1).to_numpy()
    for begin, count in zip(first, size):
        rows = begin + np.flatnonzero(dirty[begin : begin + count])
        position[rows] = begin + np.linspace(0, count, len(rows))
    order["_pos"] = position
    order = order.sort_values(["delivery_day", "_pos"], kind="mergesort").reset_index(drop=True)
    manifest = []
    for day, group in order.groupby("delivery_day", sort=True):
        day_text = str(np.datetime64(day, "D"))
        writing = only_day is None or day_text == only_day
        folder = out / source / day_text
        if writing:
            folder.mkdir(parents=True, exist_ok=True)
        # The CRM's file names carry no part number: a second part would overwrite the first.
        n_files = 1 if source == "crm" else max(1, -(-len(group) // rows_per_file))
        size = -(-len(group) // n_files)
        for k in range(n_files):
            chunk = group.iloc[k * size : (k + 1) * size]
            base = f"{stem}.{fmt}" if source == "crm" else f"{stem}-{day_text}-{k}.{fmt}"
            compress = _gzip_it(gzip_share, name, day_text, str(k))
            path = folder / (base + (".gz" if compress else ""))
            if writing:
                text = "\n".join(([header] if header else []) + chunk["line"].tolist()) + "\n"
                data = text.encode()
                path.write_bytes(gzip.compress(data, compresslevel=5, mtime=0) if compress else data)
            first_line = 2 if header else 1
            rel = path.relative_to(out).as_posix()
            kind = chunk["kind"].to_numpy()
            tag = chunk["tag"].to_numpy()
            event_ids = chunk["event_id"].to_numpy()
            for i in np.flatnonzero(kind != "event"):
                manifest.append(
                    {
                        "kind": kind[i],
                        "source": source,
                        "table": name,
                        "file": rel,
                        "line": int(first_line + i),
                        "event_id": event_ids[i],
                        "day": day_text,
                    }
                )
            tagged = np.flatnonzero(pd.notna(tag) & np.isin(kind, INTACT))
            for i in tagged:
                manifest.append(
                    {
                        "kind": tag[i],
                        "source": source,
                        "table": name,
                        "file": rel,
                        "line": int(first_line + i),
                        "event_id": event_ids[i],
                        "day": day_text,
                    }
                )
    return manifest


def control_totals(name: str, lines: pd.DataFrame) -> pd.DataFrame:
    """What the source system itself reports: distinct events by UTC event day (crm: rows by delivery day)."""
    frame = lines.assign(date=event_days(lines["created_at"] if name == "orders" else lines["at"]))
    if name == "orders":
        first = frame[frame["version"] == 1]
        counts = first.groupby("date").size().rename("value").reset_index().assign(kind="count", metric="orders")
        sums = (
            first.groupby("date")["amount"]
            .sum()
            .round(2)
            .rename("value")
            .reset_index()
            .assign(kind="sum", metric="total_price")
        )
        return pd.concat([counts, sums])
    counts = frame.groupby(["date", "metric"]).size().rename("value").reset_index().assign(kind="count")
    if name == "pos":
        sums = (
            frame.groupby("date")["amount"]
            .sum()
            .round(2)
            .rename("value")
            .reset_index()
            .assign(kind="sum", metric="total")
        )
        return pd.concat([counts, sums])
    return counts


def write_control(out: Path, source: str, totals: pd.DataFrame, only_day: str | None = None) -> None:
    for date, group in totals.groupby("date"):
        day = str(np.datetime64(date, "D"))
        if only_day is not None and day != only_day:
            continue
        counts = group[group["kind"] == "count"].sort_values("metric")
        sums = group[group["kind"] == "sum"].sort_values("metric")
        doc = {
            "source": source,
            "date": day,
            "counts": {m: int(v) for m, v in counts[["metric", "value"]].itertuples(index=False)},
            "sums": {m: round(float(v), 2) for m, v in sums[["metric", "value"]].itertuples(index=False)},
        }
        path = out / "_control" / source / f"{day}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, sort_keys=True) + "\n")
