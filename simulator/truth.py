"""Ground truth: who owns each identifier, every true purchase, the channel effects and every injected fault."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.behaviour import (
    CHANNEL_EFFECTS,
    HOUR_AFFINITY,
    HOUR_BANDS,
    MULTICHANNEL_PURCHASE_LIFT,
    ORGANIC_PURCHASE,
    Behaviour,
)
from simulator.world import World


def _rows(people: pd.DataFrame, column: str, kind: str, **extra) -> pd.DataFrame:
    have = people[people[column].notna()]
    return pd.DataFrame(
        {"person_id": have["person_id"], "identifier_type": kind, "identifier_value": have[column].astype(str), **extra}
    )


def own_esp_addresses(people: pd.DataFrame, esp: pd.DataFrame) -> pd.DataFrame:
    """Addresses the ESP used that are the person's own but not the one `people` lists: second and old ones."""
    own = esp[esp["kind"] != "other_customer"]
    own = pd.DataFrame(
        {"person_id": people["person_id"].to_numpy()[own["person"].to_numpy()], "email": own["email"].to_numpy()}
    ).drop_duplicates()
    own = own.merge(people[["person_id", "email"]], how="left", indicator=True)
    return own.loc[own["_merge"] == "left_only", ["person_id", "email"]].reset_index(drop=True)


def identifiers(
    world: World,
    start: pd.Timestamp,
    days: int,
    clicks: pd.DataFrame,
    junk: pd.DataFrame,
    bots: pd.DataFrame,
    esp: pd.DataFrame,
) -> pd.DataFrame:
    """Who owns each identifier, in the normalized form the pipeline produces, with its validity window."""
    p = world.people
    extra = own_esp_addresses(p, esp)
    end = start + pd.Timedelta(days=days)
    phone = _rows(p, "phone", "phone")
    # Held until the end, or until the number changes hands within the world's days.
    phone["valid_from"] = start + pd.to_timedelta(p["phone_from_day"].clip(upper=days), unit="D").to_numpy()
    phone["valid_to"] = start + pd.to_timedelta(p["phone_until_day"].clip(upper=days), unit="D").to_numpy()
    phone = phone[phone["valid_from"] < phone["valid_to"]]
    parts = [
        _rows(p, "email", "email"),
        phone,
        _rows(p, "customer_id", "crm_id"),
        # Second addresses the CRM never learns, and addresses the CRM held before a change.
        pd.DataFrame({"person_id": extra["person_id"], "identifier_type": "email", "identifier_value": extra["email"]}),
        _rows(p, "shop_customer_id", "shop_customer_id"),
        _rows(p, "loyalty_id", "loyalty_id"),
        _rows(p, "instagram_handle", "social_handle"),
        pd.DataFrame(
            {
                "person_id": world.cookies["person_id"],
                "identifier_type": "cookie",
                "identifier_value": world.cookies["anonymous_id"],
            }
        ),
        pd.DataFrame(
            {
                "person_id": world.devices["person_id"],
                "identifier_type": "device",
                "identifier_value": world.devices["device_id"],
                "is_shared": world.devices["shared"],
            }
        ),
        pd.DataFrame(
            {
                "person_id": world.devices["person_id"],
                "identifier_type": "push_player",
                "identifier_value": world.devices["device_id"],
                "is_shared": world.devices["shared"],
            }
        ),
        pd.DataFrame(
            {
                "person_id": p["person_id"].to_numpy()[clicks["person"]],
                "identifier_type": "click_id",
                "identifier_value": clicks["click_id"],
            }
        ),
        # Junk typed at the till: one row per person who used it.
        pd.DataFrame(
            {
                "person_id": p["person_id"].to_numpy()[junk["person"].to_numpy()],
                "identifier_type": junk["identifier_type"].to_numpy(),
                "identifier_value": junk["identifier_value"].to_numpy(),
                "is_junk": True,
            }
        ).drop_duplicates(),
        # Bots: thousands of cookies each, nothing else.
        pd.DataFrame(
            {"person_id": bots["person_id"], "identifier_type": "cookie", "identifier_value": bots["anonymous_id"]}
        ),
    ]
    out = pd.concat(parts, ignore_index=True)
    out["valid_from"] = out["valid_from"].fillna(start) if "valid_from" in out else start
    out["valid_to"] = out["valid_to"].fillna(end) if "valid_to" in out else end
    out["is_shared"] = out["is_shared"].fillna(False).astype(bool)
    out["is_junk"] = out["is_junk"].fillna(False).astype(bool)
    test_people = set(p.loc[p["is_test_account"], "person_id"])
    out.loc[out["person_id"].isin(test_people), "is_junk"] = True
    return out.sort_values(["identifier_type", "identifier_value", "person_id"], kind="mergesort").reset_index(
        drop=True
    )


def frequency(people: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Messages sent per person, UTC day and channel (what a cross-channel frequency cap would count)."""
    sends = [
        ("email", frames["email"], frames["email"]["event"] == "processed"),
        ("sms", frames["sms"], frames["sms"]["direction"] == "outbound-api"),
        ("push", frames["push"], frames["push"]["event"] == "sent"),
    ]
    parts = [
        pd.DataFrame(
            {
                "person": f.loc[m, "person"].to_numpy(),
                "date": f.loc[m, "at"].to_numpy().astype("datetime64[D]"),
                "channel": channel,
            }
        )
        for channel, f, m in sends
    ]
    out = (
        pd.concat(parts, ignore_index=True).groupby(["person", "date", "channel"]).size().rename("sends").reset_index()
    )
    out.insert(0, "person_id", people["person_id"].to_numpy()[out.pop("person").to_numpy()])
    out["date"] = pd.to_datetime(out["date"]).dt.date
    return out.sort_values(["person_id", "date", "channel"], kind="mergesort", ignore_index=True)


def write_truth(
    out: Path,
    world: World,
    ids: pd.DataFrame,
    purchases: pd.DataFrame,
    faults: list[dict],
    bots: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    esp: pd.DataFrame,
) -> None:
    truth = out / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    p = world.people
    ids.to_parquet(truth / "identifiers.parquet", index=False)
    persons = p[
        [
            "person_id",
            "customer_id",
            "shop_customer_id",
            "first_name",
            "last_name",
            "birth_date",
            "gender",
            "household_id",
            "is_test_account",
        ]
    ].assign(is_bot=False)
    bot_persons = pd.DataFrame({"person_id": np.unique(bots["person_id"].to_numpy().astype(str))}).assign(
        is_bot=True, is_test_account=False
    )
    persons = pd.concat([persons, bot_persons], ignore_index=True)
    persons.to_parquet(truth / "persons.parquet", index=False)
    extra = own_esp_addresses(p, esp).assign(email_status="valid")  # ordinary addresses at the usual domains
    emails = pd.concat(
        [p[["email", "person_id", "email_status"]], extra[["email", "person_id", "email_status"]]], ignore_index=True
    ).sort_values(["email", "person_id"], kind="mergesort")
    emails.to_parquet(truth / "emails.parquet", index=False)
    # Every address the ESP mailed, per person, kind (crm, second, stale, other_customer) and UTC day.
    pd.DataFrame(
        {
            "person_id": p["person_id"].to_numpy()[esp["person"].to_numpy()],
            "customer_id": p["customer_id"].to_numpy()[esp["person"].to_numpy()],
            "email": esp["email"].to_numpy(),
            "kind": esp["kind"].to_numpy(),
            "sent_date": pd.to_datetime(esp["sent_date"]).dt.date,
            "messages": esp["messages"].to_numpy(),
        }
    ).to_parquet(truth / "esp_addresses.parquet", index=False)
    purchases.sort_values(["converted_at", "order_ref"], kind="mergesort").to_parquet(
        truth / "purchases.parquet", index=False
    )
    ranking = sorted(CHANNEL_EFFECTS, key=lambda c: (-CHANNEL_EFFECTS[c]["visit"] * CHANNEL_EFFECTS[c]["purchase"], c))
    (truth / "channel_effects.json").write_text(
        json.dumps(
            {
                "effects": CHANNEL_EFFECTS,
                "organic_purchase_rate": ORGANIC_PURCHASE,
                "uplift_per_touch": {c: round(e["visit"] * e["purchase"], 5) for c, e in CHANNEL_EFFECTS.items()},
                "ranking": ranking,
                "ranking_by_purchase_per_visit": sorted(CHANNEL_EFFECTS, key=lambda c: -CHANNEL_EFFECTS[c]["purchase"]),
                "bots": int(bot_persons.shape[0]),
                "notes": "visit: P(visit | touch) (email: per click, sms: per delivered message, push: per opened notification, "
                "ads: per ad click, social: per engagement); purchase: P(purchase | visit the touch caused); "
                "organic visits convert at organic_purchase_rate. ranking orders channels by purchases per touch.",
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    (truth / "faults.json").write_text(json.dumps(faults, indent=1, sort_keys=True, default=str) + "\n")
    # frequency lists every send; simulator/contact_policy.py writes the breaches and consent violations.
    frequency(p, frames).to_parquet(truth / "frequency.parquet", index=False)


def engagement_groups(behaviour: Behaviour, purchases: pd.DataFrame) -> dict:
    """Single- against multi-channel people as the truth has them: retention (share of buyers who bought again),
    open rate (email and push messages opened / delivered), conversion rate (buyers / people), average order value."""
    people = behaviour.people
    engaged = behaviour.engaged_channels()
    engaged["person_id"] = people["person_id"].to_numpy()[engaged.pop("person").to_numpy()]
    store = purchases.loc[purchases["purchase_channel"] == "store", ["person_id"]].assign(channel="store")
    engaged = pd.concat([engaged, store], ignore_index=True).drop_duplicates()
    channels = engaged.groupby("person_id").size().reindex(people["person_id"], fill_value=0)
    per_person = pd.DataFrame({"channels": channels})
    bought = purchases.groupby("person_id").agg(orders=("order_ref", "size"), revenue=("net_revenue", "sum"))
    per_person = per_person.join(bought).fillna({"orders": 0, "revenue": 0.0})
    # Messages delivered and opened (each once), email and push, as agg_omnichannel_impact counts them.
    email, push = behaviour.frames["email"], behaviour.frames["push"]
    sent = pd.concat(
        [
            pd.DataFrame(
                {"person": email["person"], "message": "email:" + email["campaign_id"], "event": email["event"]}
            ),
            pd.DataFrame(
                {
                    "person": push["person"],
                    "message": "push:" + push["campaign_id"],
                    "event": push["event"].replace({"opened": "open"}),
                }
            ),
        ],
        ignore_index=True,
    )
    sent["person_id"] = people["person_id"].to_numpy()[sent.pop("person").to_numpy()]
    delivered = sent[sent["event"] == "delivered"].groupby("person_id").size()
    opened = sent[sent["event"] == "open"].drop_duplicates(["person_id", "message"]).groupby("person_id").size()
    per_person["delivered"] = delivered.reindex(per_person.index, fill_value=0)
    per_person["opened"] = opened.reindex(per_person.index, fill_value=0)
    groups = {}
    for name, mask in (("single_channel", per_person["channels"] == 1), ("multi_channel", per_person["channels"] >= 2)):
        g = per_person[mask]
        buyers = g[g["orders"] > 0]
        groups[name] = {
            "people": int(len(g)),
            "buyers": int(len(buyers)),
            "retention_rate": float((buyers["orders"] >= 2).mean()) if len(buyers) else None,
            "open_rate": float(g["opened"].sum() / g["delivered"].sum()) if g["delivered"].sum() else None,
            "conversion_rate": float(len(buyers) / len(g)) if len(g) else None,
            "average_order_value": float(buyers["revenue"].sum() / buyers["orders"].sum()) if len(buyers) else None,
        }
    return groups


def write_engagement_truth(out: Path, behaviour: Behaviour, purchases: pd.DataFrame) -> None:
    """Each person's true preferred send hour, and the true effects the seeds' omnichannel claims are measured
    against (`_truth/preferred_hours.parquet`, `_truth/engagement_effects.json`)."""
    truth = out / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    behaviour.preferred.assign(hour_affinity=HOUR_AFFINITY).to_parquet(truth / "preferred_hours.parquet", index=False)
    (truth / "engagement_effects.json").write_text(
        json.dumps(
            {
                "hour_affinity": HOUR_AFFINITY,
                "hour_bands": [{"share": share, "from_hour": low, "to_hour": high} for share, low, high in HOUR_BANDS],
                "multichannel_purchase_lift": MULTICHANNEL_PURCHASE_LIFT,
                "groups": engagement_groups(behaviour, purchases),
                # Opens are as likely whenever a message is sent: timing moves when an open happens, not whether.
                "open_rate_effect_of_send_hour": 0.0,
                "notes": "A visit by someone engaged on two or more channels (email open or click, sms reply, push open, ads "
                "click, social engagement, web or app visit, store purchase) converts multichannel_purchase_lift "
                "more often; multi-channel people are also more active, so the groups differ by more than the lift. "
                "hour_affinity of email and push opens, their clicks and organic visits happen in the person's "
                "preferred_hour, local time in time_zone (the home store's). retention_rate: share of buyers with "
                "two or more purchases in the world's days.",
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )


def write_in_flight(out: Path, parts: list[pd.DataFrame]) -> None:
    """`_truth/in_flight.parquet`: every copy of a line that happened by the last day but is delivered after it (late,
    delayed, or a next-day duplicate), with its `_control` metric: the landing zone does not hold it yet, a longer
    world's does. `_control` counts it on its event day, as the source system does."""
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    frame = frame.reindex(columns=["source", "table", "event_id", "metric", "kind", "event_day", "delivery_day"])
    for column in ("event_day", "delivery_day"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    frame.sort_values(
        ["source", "table", "event_day", "delivery_day", "event_id", "kind"], kind="mergesort"
    ).to_parquet(out / "_truth" / "in_flight.parquet", index=False)
