"""Ground truth: who owns each identifier, every true purchase, the channel effects and every injected fault."""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.behaviour import CHANNEL_EFFECTS, ORGANIC_PURCHASE
from simulator.world import World


def _rows(people: pd.DataFrame, column: str, kind: str, **extra) -> pd.DataFrame:
    have = people[people[column].notna()]
    return pd.DataFrame({"person_id": have["person_id"], "identifier_type": kind,
                         "identifier_value": have[column].astype(str), **extra})


def identifiers(world: World, start: pd.Timestamp, days: int, clicks: pd.DataFrame, junk: pd.DataFrame,
                bots: pd.DataFrame) -> pd.DataFrame:
    """Who owns each identifier, in the normalized form the pipeline produces, with its validity window."""
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
        # Junk typed at the till: one row per person who used it.
        pd.DataFrame({"person_id": p["person_id"].to_numpy()[junk["person"].to_numpy()],
                      "identifier_type": junk["identifier_type"].to_numpy(),
                      "identifier_value": junk["identifier_value"].to_numpy(), "is_junk": True}).drop_duplicates(),
        # Bots: thousands of cookies each, nothing else.
        pd.DataFrame({"person_id": bots["person_id"], "identifier_type": "cookie", "identifier_value": bots["anonymous_id"]}),
    ]
    out = pd.concat(parts, ignore_index=True)
    out["valid_from"] = out["valid_from"].fillna(start) if "valid_from" in out else start
    out["valid_to"] = out["valid_to"].fillna(end) if "valid_to" in out else end
    out["is_shared"] = out["is_shared"].fillna(False).astype(bool)
    out["is_junk"] = out["is_junk"].fillna(False).astype(bool)
    test_people = set(p.loc[p["is_test_account"], "person_id"])
    out.loc[out["person_id"].isin(test_people), "is_junk"] = True
    return out.sort_values(["identifier_type", "identifier_value", "person_id"], kind="mergesort").reset_index(drop=True)


def frequency(people: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Messages sent per person, UTC day and channel (what a cross-channel frequency cap would count)."""
    sends = [("email", frames["email"], frames["email"]["event"] == "processed"),
             ("sms", frames["sms"], frames["sms"]["direction"] == "outbound-api"),
             ("push", frames["push"], frames["push"]["event"] == "sent")]
    parts = [pd.DataFrame({"person": f.loc[m, "person"].to_numpy(), "date": f.loc[m, "at"].to_numpy().astype("datetime64[D]"),
                           "channel": channel}) for channel, f, m in sends]
    out = pd.concat(parts, ignore_index=True).groupby(["person", "date", "channel"]).size().rename("sends").reset_index()
    out.insert(0, "person_id", people["person_id"].to_numpy()[out.pop("person").to_numpy()])
    out["date"] = pd.to_datetime(out["date"]).dt.date
    return out.sort_values(["person_id", "date", "channel"], kind="mergesort", ignore_index=True)


def write_truth(out: Path, world: World, ids: pd.DataFrame, purchases: pd.DataFrame, faults: list[dict],
                bots: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> None:
    truth = out / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    p = world.people
    ids.to_parquet(truth / "identifiers.parquet", index=False)
    persons = p[["person_id", "customer_id", "shop_customer_id", "first_name", "last_name", "birth_date", "gender",
                 "household_id", "is_test_account"]].assign(is_bot=False)
    bot_persons = pd.DataFrame({"person_id": np.unique(bots["person_id"].to_numpy().astype(str))}).assign(
        is_bot=True, is_test_account=False)
    persons = pd.concat([persons, bot_persons], ignore_index=True)
    persons.to_parquet(truth / "persons.parquet", index=False)
    emails = p[["email", "person_id", "email_status"]].sort_values(["email", "person_id"], kind="mergesort")
    emails.to_parquet(truth / "emails.parquet", index=False)
    purchases.sort_values(["converted_at", "order_ref"], kind="mergesort").to_parquet(
        truth / "purchases.parquet", index=False)
    ranking = sorted(CHANNEL_EFFECTS, key=lambda c: (-CHANNEL_EFFECTS[c]["visit"] * CHANNEL_EFFECTS[c]["purchase"], c))
    (truth / "channel_effects.json").write_text(json.dumps(
        {"effects": CHANNEL_EFFECTS, "organic_purchase_rate": ORGANIC_PURCHASE,
         "uplift_per_touch": {c: round(e["visit"] * e["purchase"], 5) for c, e in CHANNEL_EFFECTS.items()},
         "ranking": ranking, "ranking_by_purchase_per_visit": sorted(CHANNEL_EFFECTS, key=lambda c: -CHANNEL_EFFECTS[c]["purchase"]),
         "bots": int(bot_persons.shape[0]),
         "notes": "visit: P(visit | touch) (email: per click, sms: per delivered message, push: per opened notification, "
                  "ads: per ad click, social: per engagement); purchase: P(purchase | visit the touch caused); "
                  "organic visits convert at organic_purchase_rate. ranking orders channels by purchases per touch."},
        indent=2, sort_keys=True) + "\n")
    (truth / "faults.json").write_text(json.dumps(faults, indent=1, sort_keys=True, default=str) + "\n")
    # frequency lists every send; simulator/contact_policy.py writes the breaches and consent violations.
    frequency(p, frames).to_parquet(truth / "frequency.parquet", index=False)
