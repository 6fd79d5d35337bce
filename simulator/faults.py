"""Sync faults asked for on the command line (`--fault`): the warehouse is meant to disagree with `_control`.

- `drop:<source>:<YYYY-MM-DD>:<fraction>` drops that fraction of the source's events whose UTC event day is that
  day from the landing files; `_control` still counts them (the canonical sync fault).
- `delay:<source>:<YYYY-MM-DD>:<days>` delivers that day's events `days` delivery folders late.
- `misaddress:email:<YYYY-MM-DD>:<fraction>` sends that fraction of the day's email messages to another CRM
  customer's address, still tagged with the intended customer's id (`addresses`): every count still matches
  `_control`, but mail for one person reaches another.

Every fault lands in `_truth/faults.json`: one row per dropped event or misaddressed message, one row per delayed
source-day.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

SOURCES = ("email", "sms", "push", "web", "app", "ads", "social", "orders", "pos", "support", "crm")
KINDS = ("drop", "delay", "misaddress")


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
            day = pd.Timestamp(day).date().isoformat()
            fault = cls(kind, source, day, float(value))
        except ValueError as exc:
            raise ValueError(
                f"bad --fault {spec!r}: expected {'|'.join(KINDS)}:<source>:<YYYY-MM-DD>:<number>"
            ) from exc
        if kind not in KINDS:
            raise ValueError(f"bad --fault {spec!r}: kind must be one of {', '.join(KINDS)}")
        if source not in SOURCES:
            raise ValueError(f"bad --fault {spec!r}: unknown source {source!r}; known: {', '.join(SOURCES)}")
        if kind in ("drop", "misaddress") and not 0 <= fault.value <= 1:
            raise ValueError(f"bad --fault {spec!r}: a {kind} fraction is between 0 and 1")
        if kind == "misaddress" and source != "email":
            raise ValueError(f"bad --fault {spec!r}: only email messages are misaddressed")
        if kind == "delay" and (fault.value < 1 or fault.value != int(fault.value)):
            raise ValueError(f"bad --fault {spec!r}: a delay is a whole number of days, at least 1")
        return fault


def apply(
    rng: np.random.Generator, source: str, name: str, out: pd.DataFrame, faults: list[Fault]
) -> tuple[pd.DataFrame, list[dict]]:
    """Apply this source's faults to its delivery plan (columns event_id, event_day, delivery_day)."""
    manifest: list[dict] = []
    for fault in faults:
        if fault.source != source or fault.kind not in ("drop", "delay"):  # misaddress is not a delivery fault
            continue
        on_day = (out["event_day"] == np.datetime64(fault.day)).to_numpy()
        if fault.kind == "drop":
            dropped = on_day & (rng.random(len(out)) < fault.value)
            manifest += [
                {
                    "kind": "drop",
                    "source": source,
                    "table": name,
                    "day": fault.day,
                    "event_id": e,
                    "detail": f"dropped from landing ({fault.value:g} of the day); still counted in _control",
                }
                for e in out.loc[dropped, "event_id"]
            ]
            out = out[~dropped]
        elif fault.kind == "delay":
            days = int(fault.value)
            out.loc[on_day, "delivery_day"] = out.loc[on_day, "event_day"] + np.timedelta64(days, "D")
            manifest.append(
                {
                    "kind": "delay",
                    "source": source,
                    "table": name,
                    "day": fault.day,
                    "detail": f"{int(on_day.sum())} events delivered {days} days late",
                }
            )
    return out, manifest
