"""How simulated people behave day by day: campaigns that follow consent, engagement, visits and purchases.

Every channel has a known, different true effect: a touch raises the chance of a visit, and a visit it caused
converts at that channel's rate. `CHANNEL_EFFECTS` is written to the ground truth, so attribution can be scored.
"""

import numpy as np
import pandas as pd

from simulator.streams import Streams
from simulator.world import NEVER, STORES, World

# P(visit | touch) and P(purchase | visit caused by the touch); organic visits convert at the base rate.
CHANNEL_EFFECTS = {
    "email": {"visit": 0.85, "purchase": 0.11},  # per click
    "sms": {"visit": 0.07, "purchase": 0.16},  # per delivered message
    "push": {"visit": 0.70, "purchase": 0.06},  # per opened notification (app session)
    "ads": {"visit": 1.00, "purchase": 0.08},  # per ad click
    "social": {"visit": 0.15, "purchase": 0.035},  # per engagement
}
ORGANIC_PURCHASE = 0.03
DAY_SECONDS = 86_400
# Send time: each person has a true preferred local hour; this share of their email and push opens (and the clicks
# that follow) and of their organic visits happens in that hour, the rest whenever the original schedule says.
HOUR_AFFINITY = 0.7
# Preferred hours: morning, lunch and evening people (local time), uniform within each band.
HOUR_BANDS = ((0.3, 7, 10), (0.25, 12, 14), (0.45, 18, 23))
# Multi-channel engagement: a visit by someone who engages on two or more channels converts this much more often
# (the true effect the seeds' omnichannel claims are measured against).
MULTICHANNEL_PURCHASE_LIFT = 0.5
# A person opts out of a channel on their own (outside any campaign reply) with this chance a day: about 2% of
# people over two weeks. Drawn once per person, so a longer world holds the same opt-outs and some more.
OPT_OUT_PER_DAY = 0.02 / 14
# Campaign calendars: the first day and the cadence of each channel's campaigns, the same whatever the horizon.
CALENDAR = {"email": (0, 2), "sms": (1, 4), "push": (2, 3)}
# New CRM customers sign up on day 1 + a geometric number of days (a week on average), whatever the horizon.
NEW_CUSTOMER_DAY_CHANCE = 1 / 7
# Misfires to a stale list reach people whose own opt-out falls within this many days (the earliest three); the
# other misfires go to people who do not opt out within them.
MISFIRE_WITHIN = 14


def _seconds(rng, n):
    # Daytime-heavy: most activity between 08:00 and 22:00 UTC.
    return (rng.beta(2.2, 1.8, n) * DAY_SECONDS).astype(np.int64)


def _ids(prefix: str, start: int, n: int) -> np.ndarray:
    return np.char.add(prefix, (np.arange(n) + start).astype(str))


def preferred_hours(rng: np.random.Generator, people: pd.DataFrame) -> pd.DataFrame:
    """Each person's true preferred local hour (0-23) and time zone (their home store's)."""
    n = len(people)
    band = rng.choice(len(HOUR_BANDS), n, p=[b[0] for b in HOUR_BANDS])
    low = np.array([b[1] for b in HOUR_BANDS])[band]
    high = np.array([b[2] for b in HOUR_BANDS])[band]
    hour = low + (rng.random(n) * (high - low)).astype(int)
    zone = STORES.set_index("store_id").loc[people["home_store"], "store_tz"].to_numpy()
    return pd.DataFrame({"person_id": people["person_id"].to_numpy(), "time_zone": zone, "preferred_hour": hour})


def next_local_hour(earliest: np.ndarray, zone: np.ndarray, hour: np.ndarray, minute_seconds: np.ndarray) -> np.ndarray:
    """The first time at or after `earliest` (UTC) that is `hour`:00 plus `minute_seconds` local time in `zone`."""
    out = np.empty(len(earliest), dtype="datetime64[ns]")
    for tz in np.unique(zone):  # one vectorised conversion per zone
        m = zone == tz
        local = pd.DatetimeIndex(earliest[m]).tz_localize("UTC").tz_convert(tz).tz_localize(None)
        at = local.normalize() + pd.to_timedelta(hour[m] * 3600 + minute_seconds[m], unit="s")
        at = at.where(at >= local, at + pd.Timedelta(days=1))
        out[m] = (
            at.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
            .tz_convert("UTC")
            .tz_localize(None)
            .to_numpy()
        )
    return out


class Behaviour:
    """Generates the per-source event frames for a world over `days` days starting at `start`.

    Causal: what happens on a day draws from that day's streams and depends on earlier days only, and everything
    decided about a person up front (opt-out days, preferred hours, misfires) is drawn without the horizon. A longer
    world is this one plus what happens next; `drop_future` removes what would happen after the last day.
    """

    def __init__(
        self,
        seed: int,
        world: World,
        start: pd.Timestamp,
        days: int,
        rates: dict,
        misfires: bool = True,
    ):
        self.seed, self.world, self.start, self.days, self.rates = seed, world, start, days, rates
        self.end = np.datetime64(start + pd.Timedelta(days=days))
        self.injects_misfires = misfires
        self.people = world.people.reset_index(drop=True)
        self.n = len(self.people)
        self._crm_signups()
        self.visits: list[pd.DataFrame] = []  # visits: person, time, channel, click_id and their outcome draws
        self.frames: dict[str, pd.DataFrame] = {}
        # Opt-out day per channel (NEVER = never): sends from that day on are suppressed.
        up_front = Streams(seed, "opt_out")
        self.opt_out_day = {
            ch: np.minimum(up_front.geometric(OPT_OUT_PER_DAY, self.n) - 1, NEVER) for ch in ("email", "sms", "push")
        }
        self.preferred = preferred_hours(Streams(seed, "preferred_hours"), self.people)
        # When a reply to a campaign opted a person out (an unsubscribe, a spam report, a STOP): the CRM hears of it
        # after that, not before.
        self.left_at = {ch: np.full(self.n, np.datetime64("NaT"), dtype="datetime64[ns]") for ch in ("email", "sms")}
        # Sends that break the contact policy on purpose (misfires), and the customer opted out of email before
        # the world began: simulator/contact_policy.py lists every breach, these and any the calendars make.
        self.policy_rng = Streams(seed, "policy")
        self.misfired: list[dict] = []
        self.legacy_opt_out: dict[int, pd.Timestamp] = {}
        self._guarantee_opt_outs()
        # The opt-outs decided up front: misfires pick from these, not from replies to campaigns still to come.
        self.planned_opt_out = {ch: d.copy() for ch, d in self.opt_out_day.items()}

    def _crm_signups(self) -> None:
        """When each CRM customer signs up (day 0: in the CRM's first export); campaigns mail customers from then on."""
        signup = Streams(self.seed, "crm_signup")
        self.crm_existing = signup.random(self.n) < 0.85
        # Someone of each kind of address is in the first export (world.build_world makes one a CRM customer).
        in_crm, status = self.people["in_crm"].to_numpy(), self.people["email_status"].to_numpy()
        for kind in ("role", "disposable", "typo", "invalid"):
            holders = np.flatnonzero(in_crm & (status == kind))
            if len(holders) and not self.crm_existing[holders].any():
                self.crm_existing[holders[0]] = True
        self.crm_signup_day = np.where(self.crm_existing, 0, signup.geometric(NEW_CUSTOMER_DAY_CHANCE, self.n))

    def day_rng(self, *key) -> Streams:
        """The streams of one channel's behaviour on one day (key: channel, ..., day)."""
        return Streams(self.seed, "behaviour", *key)

    def campaign_days(self, channel: str) -> range:
        first, every = CALENDAR[channel]
        return range(first, self.days, every)

    def ts(self, day_index: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return (self.start + pd.to_timedelta(day_index * DAY_SECONDS + seconds, unit="s")).to_numpy()

    def in_preferred_hour(self, rng, person: np.ndarray, earliest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(moved, at): which of these events happen in the person's preferred hour (HOUR_AFFINITY of them), and
        their time then: the first such hour at or after `earliest` (after the last day it has not happened yet)."""
        m = len(person)
        zone = self.preferred["time_zone"].to_numpy()[person]
        hour = self.preferred["preferred_hour"].to_numpy()[person]
        at = next_local_hour(earliest, zone, hour, rng.integers(0, 3600, m)) if m else earliest.astype("datetime64[ns]")
        moved = rng.random(m) < HOUR_AFFINITY
        return moved, at

    def _retime_opens(
        self, rng, frame: pd.DataFrame, opened: np.ndarray, clicked: np.ndarray, sent: np.ndarray, who: np.ndarray
    ) -> None:
        """Moves opens (and the clicks after them) of one send into the preferred hour, in place."""
        moved, at = self.in_preferred_hour(rng, who, sent + np.timedelta64(60, "s"))
        for event, mask, lag in (("open", opened, 0), ("click", clicked, 1)):
            rows = (frame["event"] == event).to_numpy()
            take = moved[mask]
            delay = rng.integers(60, 600, int(take.sum())) * lag
            idx = np.flatnonzero(rows)[take]
            frame.iloc[idx, frame.columns.get_loc("at")] = at[mask][take] + delay.astype("timedelta64[s]")

    # ---- outbound campaigns -------------------------------------------------------------------
    def _eligible(self, channel: str) -> np.ndarray:
        """People a misfire may reach: a channel's campaigns do and the CRM can name their opt-out; the brand's own
        test accounts are not customers the policy protects."""
        p = self.people
        crm = p["in_crm"].to_numpy() & ~p["is_test_account"].to_numpy() & (self.crm_signup_day == 0)
        if channel == "email":
            return crm & p["email_opt_in"].to_numpy() & (p["email_status"] != "invalid").to_numpy()
        if channel == "sms":
            return (
                crm
                & p["sms_opt_in"].to_numpy()
                & (p["phone_from_day"].to_numpy() == 0)
                & (p["phone_until_day"].to_numpy() == NEVER)
            )
        devices = self.world.devices[~self.world.devices["shared"]]
        return crm & p["push_opt_in"].to_numpy() & p["person_id"].isin(devices["person_id"]).to_numpy()

    def _guarantee_opt_outs(self) -> None:
        """At least one person per channel opts out on day 1, to be messaged again past the grace period."""
        if not self.injects_misfires:
            return
        for channel in ("email", "sms", "push"):
            eligible = self._eligible(channel)
            if eligible.any() and not (eligible & (self.opt_out_day[channel] <= 1)).any():
                self.opt_out_day[channel][self.policy_rng.choice(np.flatnonzero(eligible))] = 1
        # One customer opted out of email 20 days before the world began: any email now is past the legal limit.
        still_in = np.flatnonzero(self._eligible("email") & (self.opt_out_day["email"] >= MISFIRE_WITHIN))
        if len(still_in):
            person = int(self.policy_rng.choice(still_in))
            self.opt_out_day["email"][person] = 0
            self.legacy_opt_out[person] = self.start - pd.Timedelta(days=20)

    def misfires(self) -> None:
        """Sends a real brand makes by mistake: a campaign to a stale list that ignores opt-outs, one to the customer
        opted out long ago, a text sent at 03:00 local, an automation that pushes one customer four times in an
        hour. Decided from the opt-outs planned up front, so the same whatever the horizon."""
        if not self.injects_misfires:
            return
        rng, p = self.policy_rng, self.people
        email, sms, push = [], [], []
        for channel, rows in (("email", email), ("sms", sms), ("push", push)):
            # Opted out on day d (heard on d - 1 at the latest): two days on the grace period has passed.
            resend_day = np.maximum(self.planned_opt_out[channel] + 1, 2)
            stale = np.flatnonzero(self._eligible(channel) & (resend_day < MISFIRE_WITHIN))
            if channel == "email":  # the customer opted out long ago gets an email of their own below
                stale = stale[~np.isin(stale, list(self.legacy_opt_out))]
            key = rng.random(self.n)[stale]
            stale = stale[np.lexsort((key, resend_day[stale]))][:3]  # the earliest three, ties at random
            seconds = rng.integers(17 * 3600, 19 * 3600, self.n)
            for person in stale:
                rows.append((int(person), int(resend_day[person]), int(seconds[person]), "stale"))
        email_seconds = rng.integers(17 * 3600, 19 * 3600, self.n)
        for person in self.legacy_opt_out:
            email.append((person, 1, int(email_seconds[person]), "legacy"))
        awake = np.flatnonzero(self._eligible("sms") & (self.planned_opt_out["sms"] >= MISFIRE_WITHIN))
        minute = int(rng.integers(0, 60))
        if len(awake):
            person = int(rng.choice(awake))
            zone = STORES.set_index("store_id").loc[p["home_store"].iloc[person], "store_tz"]
            local = self.start + pd.Timedelta(days=1, hours=3, minutes=minute)
            at = local.tz_localize(zone).tz_convert("UTC").tz_localize(None)
            sms.append((person, 1, int((at - self.start).total_seconds()) - DAY_SECONDS, "night"))
        busy = np.flatnonzero(self._eligible("push") & (self.planned_opt_out["push"] >= MISFIRE_WITHIN))
        if len(busy):
            person = int(rng.choice(busy))
            for k in range(4):
                push.append((person, 0, 17 * 3600 + 600 * k, "burst"))
        stamp = lambda rows: self.ts(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))  # noqa: E731
        if email:
            at = stamp(email)
            who = np.array([r[0] for r in email])
            base = pd.DataFrame(
                {
                    "person": who,
                    "campaign_id": [f"em-misfire-{r[3]}" for r in email],
                    "message_day": [r[1] for r in email],
                    "sg_message_id": [f"msgx{i:03d}.{r[0]}" for i, r in enumerate(email)],
                }
            )
            self.frames["email"] = pd.concat(
                [
                    self.frames["email"],
                    base.assign(event="processed", at=at),
                    base.assign(event="delivered", at=at + np.timedelta64(5, "s")),
                ],
                ignore_index=True,
            )
        if sms:
            self.frames["sms"] = pd.concat(
                [
                    self.frames["sms"],
                    pd.DataFrame(
                        {
                            "person": [r[0] for r in sms],
                            "at": stamp(sms),
                            "status": "delivered",
                            "direction": "outbound-api",
                            "body": "Last chance: 30% off ends tonight. Reply STOP to opt out",
                            "campaign_id": [f"sms-misfire-{r[3]}" for r in sms],
                        }
                    ),
                ],
                ignore_index=True,
            )
        if push:
            devices = self.world.devices[~self.world.devices["shared"]].drop_duplicates("person_id")
            player = devices.set_index("person_id")["device_id"]
            who = np.array([r[0] for r in push])
            base = pd.DataFrame(
                {
                    "person": who,
                    "player_id": player.reindex(p["person_id"].to_numpy()[who]).to_numpy(),
                    "notification_id": [f"notif-x{i:03d}" for i in range(len(push))],
                    "campaign_id": [f"push-misfire-{r[3]}" for r in push],
                }
            )
            at = stamp(push)
            self.frames["push"] = pd.concat(
                [
                    self.frames["push"],
                    base.assign(event="sent", at=at),
                    base.assign(event="delivered", at=at + np.timedelta64(3, "s")),
                ],
                ignore_index=True,
            )
        self.misfired = [
            {"channel": c, "person": r[0], "kind": r[3]}
            for c, rows in (("email", email), ("sms", sms), ("push", push))
            for r in rows
        ]

    @staticmethod
    def _heard(left_at: np.ndarray, person: np.ndarray, at: np.ndarray) -> None:
        """Keep each person's first opt-out reply time."""
        first = np.isnat(left_at[person])
        left_at[person[first]] = at[first].astype("datetime64[ns]")

    def _recipients(self, channel: str, eligible: np.ndarray, day: int) -> np.ndarray:
        """CRM customers a campaign reaches that day: signed up, not opted out."""
        return np.flatnonzero(eligible & (self.opt_out_day[channel] > day) & (self.crm_signup_day <= day))

    def email(self) -> None:
        p = self.people
        eligible = p["in_crm"].to_numpy() & p["email_opt_in"].to_numpy() & (p["email_status"] != "invalid").to_numpy()
        rows = []
        for day in self.campaign_days("email"):
            rng = self.day_rng("email", day)
            who = self._recipients("email", eligible, day)
            m = len(who)
            # 17:00-19:00 UTC is daytime in every US zone; the misfires below are the night-time sends.
            sent = self.ts(np.full(m, day), rng.integers(17 * 3600, 19 * 3600, m))
            campaign = f"em-{(self.start + pd.Timedelta(days=day)).date()}"
            fate = rng.random(m)
            dropped = fate < 0.005  # suppressed by the ESP: processed, never sent
            bounced = (fate >= 0.005) & (fate < 0.025)
            deferred = ~dropped & (rng.random(m) < 0.03)  # a soft retry before the final outcome
            delivered = ~dropped & ~bounced
            opened = delivered & (rng.random(m) < np.minimum(0.6, 0.18 * p["activity"].to_numpy()[who]))
            clicked = opened & (rng.random(m) < 0.3)
            leave = rng.random(m)
            unsub = opened & ~clicked & (leave < 0.03)
            group_unsub = opened & ~clicked & (leave >= 0.03) & (leave < 0.04)
            spam = delivered & ~opened & (rng.random(m) < 0.002)
            base = pd.DataFrame(
                {
                    "person": who,
                    "campaign_id": campaign,
                    "message_day": day,
                    "sg_message_id": np.char.add(f"msg{day:03d}.", who.astype(str)),
                }
            )
            parts = []
            for event, mask, delay in (
                ("processed", np.ones(m, bool), 0),
                ("dropped", dropped, 1),
                ("deferred", deferred, 2),
                ("delivered", delivered, 5),
                ("bounce", bounced, 5),
                ("open", opened, None),
                ("click", clicked, None),
                ("unsubscribe", unsub, None),
                ("group_unsubscribe", group_unsub, None),
                ("spamreport", spam, None),
            ):
                offset = (
                    delay if delay is not None else rng.integers(60, 8 * 3600, m) + (600 if event == "click" else 0)
                )
                frame = base[mask].copy()
                frame["event"] = event
                frame["at"] = (sent + pd.to_timedelta(offset, unit="s").to_numpy())[mask]
                parts.append(frame)
            day_frame = pd.concat(parts, ignore_index=True)
            self._retime_opens(rng, day_frame, opened, clicked, sent, who)
            rows.append(day_frame)
            # Unsubscribing (or reporting spam) ends email sends from the next campaign on.
            leavers = who[unsub | group_unsub | spam]
            self.opt_out_day["email"][leavers] = np.minimum(self.opt_out_day["email"][leavers], day + 1)
            left = day_frame[day_frame["event"].isin(["unsubscribe", "group_unsubscribe", "spamreport"])]
            self._heard(self.left_at["email"], left["person"].to_numpy(), left["at"].to_numpy())
            clicks = day_frame[day_frame["event"] == "click"]
            self._cause_visits(rng, clicks["person"].to_numpy(), clicks["at"].to_numpy(), "email", "web")
        self.frames["email"] = _concat(rows, ["person", "campaign_id", "message_day", "sg_message_id", "event", "at"])

    def sms(self) -> None:
        p = self.people
        eligible = p["in_crm"].to_numpy() & p["sms_opt_in"].to_numpy()
        rows = []
        for day in self.campaign_days("sms"):
            rng = self.day_rng("sms", day)
            who = self._recipients("sms", eligible, day)
            who = who[(p["phone_from_day"].to_numpy()[who] <= day) & (p["phone_until_day"].to_numpy()[who] > day)]
            m = len(who)
            at = self.ts(np.full(m, day), rng.integers(16 * 3600, 18 * 3600, m))
            status = rng.choice(["delivered", "undelivered", "failed"], m, p=[0.94, 0.03, 0.03])
            rows.append(
                pd.DataFrame(
                    {
                        "person": who,
                        "at": at,
                        "status": status,
                        "direction": "outbound-api",
                        "body": "Spring sale: 20% off today only. Reply STOP to opt out",
                        "campaign_id": f"sms-{(self.start + pd.Timedelta(days=day)).date()}",
                    }
                )
            )
            stop = (status == "delivered") & (rng.random(m) < 0.015)
            rows.append(
                pd.DataFrame(
                    {
                        "person": who[stop],
                        "at": at[stop] + np.timedelta64(1800, "s"),
                        "status": "received",
                        "direction": "inbound",
                        "body": rng.choice(["STOP", "UNSUBSCRIBE", "stop"], stop.sum()),
                        "campaign_id": None,
                    }
                )
            )
            self.opt_out_day["sms"][who[stop]] = np.minimum(self.opt_out_day["sms"][who[stop]], day + 1)
            self._heard(self.left_at["sms"], who[stop], at[stop] + np.timedelta64(1800, "s"))
            delivered = who[status == "delivered"]
            visit = rng.random(len(delivered)) < CHANNEL_EFFECTS["sms"]["visit"]
            self._cause_visits(
                rng, delivered[visit], at[status == "delivered"][visit] + np.timedelta64(900, "s"), "sms", "web"
            )
        self.frames["sms"] = _concat(rows, ["person", "at", "status", "direction", "body", "campaign_id"])

    def push(self) -> None:
        p, devices = self.people, self.world.devices
        person_index = pd.Series(np.arange(self.n), index=p["person_id"])
        devices = devices.assign(person=person_index[devices["person_id"]].to_numpy())
        rows = []
        for day in self.campaign_days("push"):
            rng = self.day_rng("push", day)
            eligible = p["push_opt_in"].to_numpy() & (self.opt_out_day["push"] > day)
            d = devices[eligible[devices["person"].to_numpy()]]
            m = len(d)
            sent = self.ts(np.full(m, day), rng.integers(18 * 3600, 19 * 3600, m))
            delivered = rng.random(m) < 0.95
            opened = delivered & (rng.random(m) < 0.12 * np.minimum(2, p["activity"].to_numpy()[d["person"]]))
            notification = f"notif-{day:03d}"
            base = pd.DataFrame(
                {
                    "person": d["person"].to_numpy(),
                    "player_id": d["device_id"].to_numpy(),
                    "notification_id": notification,
                    "campaign_id": f"push-{(self.start + pd.Timedelta(days=day)).date()}",
                }
            )
            for event, mask, offset in (
                ("sent", np.ones(m, bool), 0),
                ("delivered", delivered, 3),
                ("failed", ~delivered, 3),
                ("opened", opened, None),
            ):
                off = offset if offset is not None else rng.integers(60, 4 * 3600, m)
                frame = base[mask].copy()
                frame["event"] = event
                frame["at"] = (sent + pd.to_timedelta(off, unit="s").to_numpy())[mask]
                rows.append(frame)
            opens = rows[-1]
            moved, at = self.in_preferred_hour(
                rng, opens["person"].to_numpy(), opens["at"].to_numpy() - np.timedelta64(59, "s")
            )
            opens.loc[moved, "at"] = at[moved]
            visit = rng.random(len(opens)) < CHANNEL_EFFECTS["push"]["visit"]
            self._cause_visits(
                rng,
                opens["person"].to_numpy()[visit],
                opens["at"].to_numpy()[visit] + np.timedelta64(20, "s"),
                "push",
                "app",
                device=opens["player_id"].to_numpy()[visit],
            )
        self.frames["push"] = _concat(rows, ["person", "player_id", "notification_id", "campaign_id", "event", "at"])

    def ads(self) -> None:
        act = self.people["activity"].to_numpy()
        rows, numbered = [], 0
        for day in range(self.days):
            rng = self.day_rng("ads", day)
            person = np.flatnonzero(rng.random(self.n) < 0.012 * act)
            m = len(person)
            at = self.ts(np.full(m, day), _seconds(rng, m))
            network = np.where(rng.random(m) < 0.6, "google", "meta")
            click_id = np.where(
                network == "google",
                np.char.add("Cj0KCQ", _ids("g", 100000 + numbered, m)),
                np.char.add("IwAR", _ids("f", 100000 + numbered, m)),
            )
            numbered += m
            campaign = np.where(
                network == "google", rng.choice(["ga-101", "ga-102", "ga-103"], m), rng.choice(["fb-201", "fb-202"], m)
            )
            frame = pd.DataFrame(
                {
                    "person": person,
                    "at": at,
                    "network": network,
                    "click_id": click_id,
                    "campaign_id": campaign,
                    "cost_micros": rng.integers(200_000, 3_000_000, m),
                }
            )
            rows.append(frame)
            self._cause_visits(
                rng, person, at + np.timedelta64(8, "s"), "ads", "web", click_id=click_id, network=network
            )
        self.frames["ads"] = _concat(rows, ["person", "at", "network", "click_id", "campaign_id", "cost_micros"])

    def social(self) -> None:
        p = self.people
        on_ig = p["has_instagram"].to_numpy()
        act = p["activity"].to_numpy()
        rows, numbered = [], 0
        for day in range(self.days):
            rng = self.day_rng("social", day)
            person = np.flatnonzero((rng.random(self.n) < 0.03 * act) & on_ig)
            m = len(person)
            action = rng.choice(["like", "comment", "share", "dm", "lead_submit"], m, p=[0.55, 0.2, 0.1, 0.1, 0.05])
            at = self.ts(np.full(m, day), _seconds(rng, m))
            rows.append(
                pd.DataFrame(
                    {
                        "person": person,
                        "at": at,
                        "action": action,
                        "platform": np.where(rng.random(m) < 0.7, "instagram", "facebook"),
                        "event_id": _ids("1789", 5_000_000 + numbered, m),
                        "post_id": rng.choice(["p1", "p2", "p3", "p4"], m),
                        "campaign_id": rng.choice(["so-spring", "so-brand"], m),
                    }
                )
            )
            numbered += m
            visit = rng.random(m) < CHANNEL_EFFECTS["social"]["visit"]
            self._cause_visits(rng, person[visit], at[visit] + np.timedelta64(60, "s"), "social", "web")
        self.frames["social"] = _concat(
            rows, ["person", "at", "action", "platform", "event_id", "post_id", "campaign_id"]
        )

    # ---- visits and purchases -------------------------------------------------------------------
    def _cause_visits(self, rng, person, at, channel, surface, click_id=None, network=None, device=None) -> None:
        """Visits the touches cause (email: CHANNEL_EFFECTS of its clicks), with their outcome draws: a visit's
        purchase is decided by the day that caused it, so later days never change it."""
        if channel == "email":
            keep = rng.random(len(person)) < CHANNEL_EFFECTS[channel]["visit"]
            person, at = person[keep], at[keep]
            device = device[keep] if device is not None else None
            click_id = click_id[keep] if click_id is not None else None
            network = network[keep] if network is not None else None
        self.visits.append(self._visits(rng, person, at, channel, surface, click_id, network, device))

    @staticmethod
    def _visits(rng, person, at, channel, surface, click_id=None, network=None, device=None) -> pd.DataFrame:
        m = len(person)
        return pd.DataFrame(
            {
                "person": person,
                "at": at,
                "channel": channel,
                "surface": surface,
                "click_id": click_id if click_id is not None else None,
                "network": network if network is not None else None,
                "device_id": device if device is not None else None,
                "purchase_draw": rng.random(m),
                "pages": rng.integers(1, 5, m),
                "added_draw": rng.random(m),
            }
        )

    def organic_visits(self) -> None:
        p = self.people
        act = p["activity"].to_numpy()
        for day in range(self.days):
            for surface, rate, who in (("web", 0.12, np.ones(self.n, bool)), ("app", 0.10, p["uses_app"].to_numpy())):
                rng = self.day_rng("organic", surface, day)
                person = np.flatnonzero((rng.random(self.n) < rate * act) & who)
                at = self.ts(np.full(len(person), day), _seconds(rng, len(person)))
                # In the preferred hour of that day, local time: 08:00 UTC is at or before 03:00 in every store zone,
                # and every preferred hour is 07:00 or later, so the first one after it is on the same local day.
                local_day = self.ts(np.full(len(person), day), np.full(len(person), 8 * 3600, np.int64))
                moved, preferred = self.in_preferred_hour(rng, person, local_day)
                at = np.where(moved, preferred, at)
                self.visits.append(self._visits(rng, person, at, "organic", surface))

    def sessions(self) -> pd.DataFrame:
        """Every visit before the end with its outcome: converts at its causing channel's rate, more often for
        someone engaged on two or more channels by then."""
        visits = pd.concat(self.visits, ignore_index=True)
        visits = visits[visits["at"] < self.end].reset_index(drop=True)
        rate = visits["channel"].map({c: e["purchase"] for c, e in CHANNEL_EFFECTS.items()}).fillna(ORGANIC_PURCHASE)
        multi = self.channels_engaged_by(visits["person"].to_numpy(), visits["at"].to_numpy()) >= 2
        rate = rate.to_numpy() * np.where(multi, 1 + MULTICHANNEL_PURCHASE_LIFT, 1.0)
        visits["purchased"] = visits.pop("purchase_draw").to_numpy() < rate
        visits["added"] = visits["purchased"] | (visits.pop("added_draw").to_numpy() < 0.25)
        return visits

    def _engagements(self) -> pd.DataFrame:
        """(person, channel, at): every answer on a channel, an online visit counting on its surface."""
        f = self.frames
        parts = [
            ("email", f["email"], f["email"]["event"].isin(["open", "click"])),
            ("sms", f["sms"], f["sms"]["direction"] == "inbound"),
            ("push", f["push"], f["push"]["event"] == "opened"),
            ("ads", f["ads"], np.ones(len(f["ads"]), bool)),
            ("social", f["social"], np.ones(len(f["social"]), bool)),
        ]
        frames = [
            pd.DataFrame({"person": fr.loc[m, "person"].to_numpy(), "channel": ch, "at": fr.loc[m, "at"].to_numpy()})
            for ch, fr, m in parts
        ]
        visits = pd.concat(self.visits, ignore_index=True)
        frames.append(
            pd.DataFrame(
                {"person": visits["person"].to_numpy(), "channel": visits["surface"].to_numpy(), "at": visits["at"]}
            )
        )
        out = pd.concat(frames, ignore_index=True)
        return out[out["at"] < self.end]

    def channels_engaged_by(self, person: np.ndarray, at: np.ndarray) -> np.ndarray:
        """How many channels each person had answered on at or before `at` (their own visit included)."""
        first = self._engagements().groupby(["person", "channel"])["at"].min().unstack("channel")
        first = first.reindex(range(self.n))
        if first.empty or not len(person):
            return np.zeros(len(person), int)
        since = first.to_numpy(dtype="datetime64[ns]")[person]  # NaT where never: compares False
        return (since <= at.astype("datetime64[ns]")[:, None]).sum(axis=1)

    def engaged_channels(self) -> pd.DataFrame:
        """(person, channel): every channel a person answered on before the end."""
        return self._engagements()[["person", "channel"]].drop_duplicates().reset_index(drop=True)

    def store_sales(self) -> pd.DataFrame:
        p = self.people
        stores = STORES.set_index("store_id")
        rows = []
        for day in range(self.days):
            rng = self.day_rng("store", day)
            person = np.flatnonzero(rng.random(self.n) < 0.012 * p["activity"].to_numpy())
            m = len(person)
            store = p["home_store"].to_numpy()[person]
            local_seconds = rng.integers(9 * 3600, 21 * 3600, m)
            local = self.start + pd.to_timedelta(day * DAY_SECONDS + local_seconds, unit="s")
            tz = stores.loc[store, "store_tz"].to_numpy()
            utc = np.empty(m, dtype="datetime64[ns]")
            for zone in np.unique(tz):  # one vectorised conversion per store time zone
                mask = tz == zone
                utc[mask] = (
                    pd.DatetimeIndex(local[mask]).tz_localize(zone).tz_convert("UTC").tz_localize(None).to_numpy()
                )
            rows.append(
                pd.DataFrame(
                    {
                        "person": person,
                        "store_id": store,
                        "store_tz": tz,
                        "local_time": local.to_numpy(),
                        "at": utc,
                        "total_cents": rng.integers(800, 25_000, m),
                    }
                )
            )
        return _concat(rows, ["person", "store_id", "store_tz", "local_time", "at", "total_cents"])

    def drop_future(self) -> None:
        """Forget what would happen after the last day (opens of a late send, a misfire planned for later)."""
        for name, frame in self.frames.items():
            self.frames[name] = frame[frame["at"] < self.end].reset_index(drop=True)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The day frames one after the other (an empty frame with the columns when there are none)."""
    if frames:
        return pd.concat(frames, ignore_index=True)
    types = {"person": "int64", "at": "datetime64[ns]", "local_time": "datetime64[ns]", "message_day": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, object)) for c in columns})
