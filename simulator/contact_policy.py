"""Ground truth for the contact policy: every frequency breach and every send after an opt-out, in the world as written.

Computed from what the channels sent and heard (the written email, SMS and push rows and the CRM consent log),
per true person, with the pipeline's default policy (dbt vars message_cap_*, message_quiet_hours_*,
consent_grace_hours, consent_legal_limit_business_days). A person's local zone is their home store's. Every send
the simulator makes has a campaign, so every one is marketing. Sends to a shared family tablet reach a household,
not a person, and are left out.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from simulator.world import STORES

CAP, WINDOW = 3, pd.Timedelta(days=7)
QUIET_START, QUIET_END = 22, 8
GRACE = pd.Timedelta(hours=24)
LEGAL_BUSINESS_DAYS = {"email": 10, "sms": 10}
SMS_STOP = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
SMS_START = {"START", "UNSTOP"}


def sends(sent: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every message sent, one row each: person, channel, sent_at."""
    email, sms, push = sent["email"], sent["sms"], sent["push"]
    push = push[(push["event"] == "sent") & ~push["player_id"].str.startswith("dev-tablet")]
    parts = [
        ("email", email[email["event"] == "processed"]),
        ("sms", sms[sms["direction"] == "outbound-api"]),
        ("push", push),
    ]
    out = pd.concat(
        [
            pd.DataFrame(
                {
                    "person": f["person"].to_numpy(),
                    "channel": c,
                    "sent_at": f["at"].to_numpy(),
                    "campaign_id": f["campaign_id"].to_numpy(),
                }
            )
            for c, f in parts
        ],
        ignore_index=True,
    )
    return out.sort_values(["person", "sent_at", "channel"], kind="mergesort", ignore_index=True)


def frequency_breaches(people: pd.DataFrame, messages: pd.DataFrame) -> pd.DataFrame:
    """Each message over the cross-channel cap in the window (sent_at - 7 days, sent_at], and each in quiet hours."""
    m = messages
    # Rows are sorted by person then time: one int64 key (person, second) finds each window's rows by search.
    seconds = m["sent_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    key = m["person"].to_numpy().astype(np.int64) * (1 << 32) + seconds
    start = np.searchsorted(key, key - int(WINDOW.total_seconds()), side="right")
    end = np.searchsorted(key, key, side="right")
    in_window = end - start
    cap = m[in_window > CAP].assign(kind="cross_channel_cap", messages_in_window=in_window[in_window > CAP])
    zone = STORES.set_index("store_id")["store_tz"].reindex(people["home_store"].to_numpy()).to_numpy()[m["person"]]
    hour = np.empty(len(m), dtype=np.int64)
    for z in np.unique(zone):
        mask = zone == z
        hour[mask] = pd.DatetimeIndex(m["sent_at"].to_numpy()[mask]).tz_localize("UTC").tz_convert(z).hour
    quiet = (hour >= QUIET_START) | (hour < QUIET_END)
    night = m[quiet].assign(kind="quiet_hours", messages_in_window=1)
    out = pd.concat([cap, night], ignore_index=True)
    out.insert(0, "person_id", people["person_id"].to_numpy()[out.pop("person").to_numpy()])
    out["is_misfire"] = out["campaign_id"].str.contains("misfire")
    return out.sort_values(["person_id", "sent_at", "channel", "kind"], kind="mergesort", ignore_index=True)


def consent_events(people: pd.DataFrame, sent: dict[str, pd.DataFrame], consents: pd.DataFrame) -> pd.DataFrame:
    """Every consent change per person and channel: the CRM log, the ESP's unsubscribes, STOP/START texts."""
    email, sms = sent["email"], sent["sms"]
    leave = email[email["event"].isin(["unsubscribe", "group_unsubscribe", "spamreport"])]
    inbound = sms[sms["direction"] == "inbound"]
    body = inbound["body"].str.strip().str.upper()
    keyword = inbound[body.isin(SMS_STOP | SMS_START)]
    parts = [
        pd.DataFrame(
            {
                "person": consents["person"].to_numpy(),
                "channel": consents["channel"].to_numpy(),
                "status": consents["status"].to_numpy(),
                "at": consents["changed_at"].to_numpy(),
            }
        ),
        pd.DataFrame(
            {
                "person": leave["person"].to_numpy(),
                "channel": "email",
                "status": "opt_out",
                "at": leave["at"].to_numpy(),
            }
        ),
        pd.DataFrame(
            {
                "person": keyword["person"].to_numpy(),
                "channel": "sms",
                "status": np.where(body[keyword.index].isin(SMS_STOP), "opt_out", "opt_in"),
                "at": keyword["at"].to_numpy(),
            }
        ),
    ]
    out = pd.concat(parts, ignore_index=True)
    out["at"] = pd.to_datetime(out["at"]).astype("datetime64[ns]")
    return out


def preference_violations(people: pd.DataFrame, messages: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Each send while its person was opted out of the channel, past the grace period; past_legal_limit after the
    legal limit (business days from the opt-out's UTC day; a weekend opt-out counts from the Friday)."""
    m = messages.assign(sent_at=pd.to_datetime(messages["sent_at"]).astype("datetime64[ns]")).sort_values(
        "sent_at", kind="mergesort"
    )
    # Changes at one instant: opt_out first, so the later row (opt_in) is the status that holds.
    e = events.sort_values(["at", "status"], ascending=[True, False], kind="mergesort")
    e = e.rename(columns={"at": "changed_at"})
    latest = pd.merge_asof(m, e, left_on="sent_at", right_on="changed_at", by=["person", "channel"])
    # The opt-out that began the period: the first of a run of opt-outs.
    e = e.sort_values(
        ["person", "channel", "changed_at", "status"], ascending=[True, True, True, False], kind="mergesort"
    )
    starts = e["status"].ne(e.groupby(["person", "channel"])["status"].shift())
    e["opted_out_at"] = e["changed_at"].where(starts).groupby([e["person"], e["channel"]]).ffill()
    latest = latest.merge(
        e[["person", "channel", "changed_at", "status", "opted_out_at"]].drop_duplicates(
            ["person", "channel", "changed_at", "status"], keep="last"
        ),
        on=["person", "channel", "changed_at", "status"],
        how="left",
    )
    v = latest[(latest["status"] == "opt_out") & (latest["sent_at"] >= latest["opted_out_at"] + GRACE)].copy()
    day = v["opted_out_at"].dt.normalize()
    dow = day.dt.day_of_week  # Monday 0
    friday = day - pd.to_timedelta(np.maximum(dow - 4, 0), unit="D")
    limit = v["channel"].map(LEGAL_BUSINESS_DAYS).astype("float64")
    deadline = friday + pd.to_timedelta(
        (limit + 2 * ((np.minimum(dow, 4) + limit) // 5)).fillna(0).astype(int), unit="D"
    )
    v["past_legal_limit"] = limit.notna() & (v["sent_at"].dt.normalize() > deadline)
    v.insert(0, "person_id", people["person_id"].to_numpy()[v.pop("person").to_numpy()])
    v["is_misfire"] = v["campaign_id"].str.contains("misfire")
    return v[
        ["person_id", "channel", "sent_at", "campaign_id", "opted_out_at", "past_legal_limit", "is_misfire"]
    ].sort_values(["person_id", "sent_at", "channel"], kind="mergesort", ignore_index=True)


def write(truth: Path, people: pd.DataFrame, sent: dict[str, pd.DataFrame], consents: pd.DataFrame) -> None:
    """`frequency_breaches.parquet`, `preference_violations.parquet` (and `consent_violations.parquet`, the same
    sends under the name earlier scorers read)."""
    messages = sends(sent)
    frequency_breaches(people, messages).to_parquet(truth / "frequency_breaches.parquet", index=False)
    violations = preference_violations(people, messages, consent_events(people, sent, consents))
    violations.to_parquet(truth / "preference_violations.parquet", index=False)
    pd.DataFrame(
        {
            "person_id": violations["person_id"],
            "channel": violations["channel"],
            "event_id": pd.Series([None] * len(violations), dtype=object),
            "sent_at": violations["sent_at"],
            "reason": np.where(violations["past_legal_limit"], "past_legal_limit", "after_opt_out"),
        }
    ).to_parquet(truth / "consent_violations.parquet", index=False)
