"""Ground truth: who owns each identifier, every true purchase, the channel effects and every injected fault."""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.simulator.behaviour import CHANNEL_EFFECTS, ORGANIC_PURCHASE
from orchestration.simulator.world import GUEST_EMAILS, JUNK_PHONES, World


def _rows(people: pd.DataFrame, column: str, kind: str, **extra) -> pd.DataFrame:
    have = people[people[column].notna()]
    return pd.DataFrame({"person_id": have["person_id"], "identifier_type": kind,
                         "identifier_value": have[column].astype(str), **extra})


def identifiers(world: World, start: pd.Timestamp, days: int, clicks: pd.DataFrame) -> pd.DataFrame:
    p = world.people
    end = start + pd.Timedelta(days=days)
    phone = _rows(p, "phone", "phone")
    phone["valid_from"] = start + pd.to_timedelta(p["phone_from_day"], unit="D").to_numpy()
    phone["valid_to"] = start + pd.to_timedelta(p["phone_until_day"], unit="D").to_numpy()
    phone = phone[phone["valid_from"] < phone["valid_to"]]
    parts = [
        _rows(p, "email", "email"), phone, _rows(p, "customer_id", "crm_id"),
        _rows(p, "shop_customer_id", "shop_customer_id"), _rows(p, "loyalty_id", "loyalty_id"),
        _rows(p, "instagram_handle", "social_handle"),
        pd.DataFrame({"person_id": world.cookies["person_id"], "identifier_type": "cookie",
                      "identifier_value": world.cookies["anonymous_id"]}),
        pd.DataFrame({"person_id": world.devices["person_id"], "identifier_type": "device",
                      "identifier_value": world.devices["device_id"], "is_shared": world.devices["shared"]}),
        pd.DataFrame({"person_id": world.devices["person_id"], "identifier_type": "push_player",
                      "identifier_value": world.devices["device_id"], "is_shared": world.devices["shared"]}),
        pd.DataFrame({"person_id": p["person_id"].to_numpy()[clicks["person"]], "identifier_type": "click_id",
                      "identifier_value": clicks["click_id"]}),
        pd.DataFrame({"person_id": None, "identifier_type": "email", "identifier_value": GUEST_EMAILS, "is_junk": True}),
        pd.DataFrame({"person_id": None, "identifier_type": "phone", "identifier_value": ["+10000000000"], "is_junk": True}),
    ]
    out = pd.concat(parts, ignore_index=True)
    out["valid_from"] = out["valid_from"].fillna(start) if "valid_from" in out else start
    out["valid_to"] = out["valid_to"].fillna(end) if "valid_to" in out else end
    out["is_shared"] = out["is_shared"].fillna(False).astype(bool)
    out["is_junk"] = out["is_junk"].fillna(False).astype(bool)
    test_people = set(p.loc[p["is_test_account"], "person_id"])
    out.loc[out["person_id"].isin(test_people), "is_junk"] = True
    return out.sort_values(["identifier_type", "identifier_value", "person_id"], kind="mergesort").reset_index(drop=True)


def write_truth(out: Path, world: World, ids: pd.DataFrame, purchases: pd.DataFrame, faults: list[dict],
                bots: int) -> None:
    truth = out / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    p = world.people
    ids.to_parquet(truth / "identifiers.parquet", index=False)
    persons = p[["person_id", "customer_id", "shop_customer_id", "first_name", "last_name", "birth_date", "gender",
                 "household_id", "is_test_account"]].assign(is_bot=False)
    persons.to_parquet(truth / "persons.parquet", index=False)
    p[["email", "person_id", "email_status"]].to_parquet(truth / "emails.parquet", index=False)
    purchases.to_parquet(truth / "purchases.parquet", index=False)
    ranking = sorted(CHANNEL_EFFECTS, key=lambda c: -CHANNEL_EFFECTS[c]["purchase"])
    (truth / "channel_effects.json").write_text(json.dumps(
        {"effects": CHANNEL_EFFECTS, "organic_purchase_rate": ORGANIC_PURCHASE,
         "ranking_by_purchase_uplift": ranking, "bots": bots}, indent=2, sort_keys=True))
    (truth / "faults.json").write_text(json.dumps(faults, indent=1, sort_keys=True, default=str))
    # Later issues score these; the simulator sends only with consent, so both start empty.
    pd.DataFrame({"person_id": pd.Series(dtype=str), "channel": pd.Series(dtype=str)}).to_parquet(
        truth / "consent_violations.parquet", index=False)
