"""Builds every source's clean lines (before dirt) from the world and its behaviour, plus the purchase truth."""

import duckdb
import numpy as np
import pandas as pd

from simulator import addresses, channels, dirt
from simulator.behaviour import DAY_SECONDS, Behaviour
from simulator.streams import Streams
from simulator.world import GUEST_EMAILS, JUNK_PHONES, NEVER, World

BOT_AGENTS = np.array(
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    ]
)
BOT_HITS_PER_DAY = 100  # each hit a fresh cookie: a bot leaves thousands of cookies and no identity
HUMAN_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


def zero_padded(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """`prefix` and each number zero-padded to `width` digits; numpy's zfill cannot take an empty array (a world
    of one day may send no text message)."""
    if len(numbers) == 0:
        return np.array([], dtype=str)
    return np.char.add(prefix, np.char.zfill(np.asarray(numbers).astype(str), width))


def _pick(rng, options_by_person: pd.Series, person: np.ndarray) -> np.ndarray:
    """One of each person's identifiers (cookies, devices) at random, vectorised; None for people without any."""
    owners = options_by_person.index.to_numpy()
    order = np.argsort(owners, kind="mergesort")
    owners, values = owners[order], options_by_person.to_numpy()[order]
    first = np.searchsorted(owners, person, side="left")
    count = np.searchsorted(owners, person, side="right") - first
    choice = first + rng.integers(0, 1 << 30, len(person)) % np.maximum(count, 1)
    picked = values[np.minimum(choice, max(len(values) - 1, 0))] if len(values) else np.full(len(person), None)
    return np.where(count > 0, picked, None)


class SourceBuilder:
    """Every draw is over a frame sorted by time or over the whole population, each from a stream of its own
    (`Streams`): the lines of a world's first days are the same in every longer world."""

    def __init__(self, seed: int, world: World, behaviour: Behaviour):
        self.seed, self.world, self.b = seed, world, behaviour
        self.end = behaviour.end
        # When each CRM customer signs up (day 0: in the first export), decided up front by the behaviour.
        self.crm_existing, self.crm_created_day = behaviour.crm_existing, behaviour.crm_signup_day
        self.p = behaviour.people
        self.con = duckdb.connect()
        self.con.execute("set threads = 2")
        self.lines: dict[str, pd.DataFrame] = {}
        # Truth the builder learns on the way: junk identifiers per person who used them, bots and their cookies.
        self.junk = pd.DataFrame(
            {
                "person": pd.Series(dtype=np.int64),
                "identifier_type": pd.Series(dtype=str),
                "identifier_value": pd.Series(dtype=str),
            }
        )
        self.bots = pd.DataFrame(
            {
                "person_id": pd.Series(dtype=str),
                "anonymous_id": pd.Series(dtype=str),
                "user_agent": pd.Series(dtype=str),
            }
        )

    def col(self, name, person):
        return self.p[name].to_numpy()[person]

    def phone_at(self, person: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The person's number on that day, or None outside their ownership (recycled numbers)."""
        day = ((at - np.datetime64(self.b.start)) // np.timedelta64(1, "D")).astype(int)
        owned = (self.col("phone_from_day", person) <= day) & (self.col("phone_until_day", person) > day)
        return np.where(owned, self.col("phone", person), None)

    def outbound(self, rates: dict, misaddress_days: dict[str, float]) -> None:
        """Email, SMS, push, ads and social lines; streams of their own decide the ESP's second, stale and
        misaddressed addresses (`addresses`)."""
        rng, b = Streams(self.seed, "outbound"), self.b
        e = b.frames["email"].sort_values(["at", "person", "event"], kind="mergesort").reset_index(drop=True)
        e["sg_event_id"] = zero_padded("sg", np.arange(len(e)), 10)
        person = e["person"].to_numpy()
        # People whose number was recycled keep their address: each CRM re-export then changes one thing.
        recycled = self.p["person_id"].isin(self.world.recycled[["old_person_id", "new_person_id"]].stack()).to_numpy()
        self.esp = addresses.assign(
            self.seed,
            self.p,
            e,
            rates,
            misaddress_days,
            b.start,
            keep=recycled,
            email_opt_out=b.opt_out_day["email"],
            crm_from_day=self.crm_created_day,
        )
        e["email"] = channels.messy_emails(rng, pd.Series(self.esp.address))
        e["customer_id"] = np.where(rng.random(len(e)) < 0.8, self.col("customer_id", person), None)
        # Mail to an address the CRM does not hold for the person still names them: that is the ESP's contact.
        e.loc[self.esp.tagged, "customer_id"] = self.col("customer_id", person[self.esp.tagged])
        self.lines["email"] = channels.email(self.con, e)
        # What each channel sent and heard, as written: simulator/contact_policy.py scores the contact policy on it.
        self.sent = {"email": e}

        s = b.frames["sms"].sort_values(["at", "person"], kind="mergesort").reset_index(drop=True)
        s["sid"] = zero_padded("SM", np.arange(len(s)), 32)
        s["phone"] = channels.messy_phones(rng, pd.Series(self.phone_at(s["person"].to_numpy(), s["at"].to_numpy())))
        s = s[s["phone"].notna()]
        self.lines["sms"] = channels.sms(self.con, s)
        self.sent["sms"] = s

        push = b.frames["push"].copy()
        push["external_user_id"] = self.col("customer_id", push["person"].to_numpy())
        shared = push["player_id"].str.startswith("dev-tablet")
        push.loc[shared, "external_user_id"] = None  # a family tablet is logged in as nobody in particular
        push = push.drop_duplicates(["notification_id", "player_id", "event"])
        self.lines["push"] = channels.push(self.con, push)
        self.sent["push"] = push

        self.lines["ads"] = channels.ads(self.con, b.frames["ads"])

        soc = b.frames["social"].copy()
        person = soc["person"].to_numpy()
        soc["handle"] = self.col("instagram_handle", person)
        soc["lead_email"] = channels.messy_emails(rng, pd.Series(self.col("email", person)))
        soc["lead_phone"] = channels.messy_phones(rng, pd.Series(self.phone_at(person, soc["at"].to_numpy())))
        self.lines["social"] = channels.social(self.con, soc)

    def online(self, sessions: pd.DataFrame, bots: int) -> None:
        """Web and app events, orders and the support tickets that follow them."""
        rng, p = Streams(self.seed, "online"), self.p
        s = sessions.sort_values(["at", "person", "channel"], kind="mergesort").reset_index(drop=True)
        s["session"] = np.arange(len(s))
        person = s["person"].to_numpy()
        cookies = self.world.cookies.set_index(
            pd.Index(pd.Series(np.arange(len(p)), index=p["person_id"])[self.world.cookies["person_id"]].to_numpy())
        )["anonymous_id"]
        devices = self.world.devices.set_index(
            pd.Index(pd.Series(np.arange(len(p)), index=p["person_id"])[self.world.devices["person_id"]].to_numpy())
        )
        s["anonymous_id"] = _pick(rng, cookies, person)
        s["device_id"] = np.where(s["device_id"].notna(), s["device_id"], _pick(rng, devices["device_id"], person))
        dtype = devices.drop_duplicates("device_id").set_index("device_id")["device_type"]
        s["device_type"] = dtype.reindex(s["device_id"].fillna("")).to_numpy()
        s.loc[(s["surface"] == "app") & s["device_id"].isna(), "surface"] = "web"  # no app without a device
        # Orders for purchasing sessions.
        buy = s[s["purchased"]].copy()
        buy["order_id"] = 5_100_000_000 + np.arange(len(buy)) * 13
        buy["total_price"] = np.round(rng.gamma(2.5, 24, len(buy)) + 5, 2)
        buy["source_name"] = np.where(
            buy["surface"] == "web", "web", np.where(buy["device_type"] == "ios", "iphone", "android")
        )
        steps = []
        for kind, mask_col in (
            ("page", None),
            ("Product Viewed", None),
            ("Product Added", "added"),
            ("identify", None),
            ("Order Completed", "purchased"),
        ):
            frame = s if mask_col is None else s[s[mask_col]]
            if kind == "identify":
                frame = s[rng.random(len(s)) < 0.3]
            frame = frame.copy()
            frame["type"] = "page" if kind == "page" else ("identify" if kind == "identify" else "track")
            frame["event"] = None if kind in ("page", "identify") else kind
            frame["step"] = len(steps)
            frame["at"] = frame["at"] + pd.to_timedelta(len(steps) * 40 + rng.integers(0, 30, len(frame)), unit="s")
            steps.append(frame)
        # Session by session, in time order, for the draws below (a longer world's first sessions come first).
        ev = pd.concat(steps, ignore_index=True).sort_values(["session", "step"], kind="mergesort", ignore_index=True)
        ev = ev.merge(buy[["session", "order_id", "total_price"]], on="session", how="left")
        ev.loc[ev["event"] != "Order Completed", ["order_id", "total_price"]] = np.nan
        has_order = ev["order_id"].notna().to_numpy()
        ev["revenue"] = np.where(has_order, np.char.mod("%.2f", ev["total_price"].fillna(0).to_numpy()), None)
        ev["order_id"] = np.where(has_order, ev["order_id"].fillna(0).astype(np.int64).astype(str), None)
        ep = ev["person"].to_numpy()
        ev["user_id"] = np.where(
            (ev["type"] == "identify") | (rng.random(len(ev)) < 0.4), self.col("customer_id", ep), None
        )
        identify = (ev["type"] == "identify").to_numpy()  # only identify calls carry traits
        ev["traits_email"], ev["traits_phone"] = None, None
        ev.loc[identify, "traits_email"] = channels.messy_emails(rng, pd.Series(self.col("email", ep[identify])))
        ev.loc[identify, "traits_phone"] = channels.messy_phones(
            rng, pd.Series(self.phone_at(ep[identify], ev["at"].to_numpy()[identify]))
        )
        # The landing page of a caused visit carries the campaign (utm_*, context.campaign) and the ad click id.
        channel, step = ev["channel"].to_numpy(), ev["step"].to_numpy()
        google = (ev["network"] == "google").to_numpy()
        source = np.select(
            [channel == "ads", channel == "social"], [np.where(google, "google", "facebook"), "instagram"], channel
        )
        medium = np.select(
            [channel == "ads", channel == "social"], [np.where(google, "cpc", "paid_social"), "social"], channel
        )
        landing = (step == 0) & (channel != "organic")
        click = ev["click_id"].fillna("").to_numpy().astype(str)
        query = np.char.add(
            np.char.add(np.char.add("?utm_source=", source), np.char.add("&utm_medium=", medium)),
            "&utm_campaign=spring",
        )
        query = np.where(
            click != "", np.char.add(np.char.add(query, np.where(google, "&gclid=", "&fbclid=")), click), query
        )
        path = np.array(["/", "/products/sku-", "/cart", "/account", "/checkout/thank-you"], dtype=object)[step]
        path = np.where(step == 1, path + (ev["person"].to_numpy() % 40).astype(str), path)
        ev["path"] = path
        ev["url"] = "https://shop.example.com" + path + np.where(landing, query, "")
        referrer_by_source = {
            "google": "https://www.google.com/",
            "facebook": "https://www.facebook.com/",
            "instagram": "https://www.instagram.com/",
        }
        ev["referrer"] = np.where(
            landing,
            pd.Series(source).map(referrer_by_source).to_numpy(),
            np.where(step > 0, "https://shop.example.com/", None),
        )
        ev["campaign_source"] = np.where(landing, source, None)
        ev["campaign_medium"] = np.where(landing, medium, None)
        ev["campaign_name"] = np.where(landing, "spring", None)
        ev["page_name"] = np.where(ev["type"] == "page", "Home", None)
        ev["user_agent"] = HUMAN_AGENT
        ev = self._with_bots(ev, bots)
        ev = ev.sort_values(["at", "session", "step"], kind="mergesort").reset_index(drop=True)
        ev["message_id"] = zero_padded("ajs-", np.arange(len(ev)), 12)
        # A shop stamps an order when checkout completes, the moment its Order Completed event fires (not when the
        # visit began): journeys need the session's touches before the purchase. Taken before the cut below, so
        # that an order completed after the last day is one of a longer world's, not a timeless one.
        completed = ev.loc[(ev["event"] == "Order Completed").to_numpy()]
        self.completed = completed.loc[completed["at"] < self.end, ["message_id", "order_id"]]
        completed = completed.set_index("session")["at"]
        ev = ev[ev["at"] < self.end]  # a visit at the end of the last day goes on tomorrow
        app = (ev["surface"] == "app").to_numpy()
        ev.loc[app & (ev["type"] == "page").to_numpy(), "type"] = "screen"
        ev.loc[app & (ev["channel"] == "push").to_numpy() & (ev["step"] == 0).to_numpy(), ["type", "event"]] = [
            "track",
            "Push Notification Tapped",
        ]
        self.lines["web"] = channels.segment(self.con, ev[~app], app=False)
        self.lines["app"] = channels.segment(self.con, ev[app], app=True)
        buy["at"] = completed.reindex(buy["session"]).to_numpy()
        self._orders(buy)

    def _with_bots(self, ev: pd.DataFrame, bots: int) -> pd.DataFrame:
        if bots <= 0:
            return ev
        b = self.b
        hits = bots * BOT_HITS_PER_DAY  # a day's hits; each day draws its own
        bot = np.arange(hits) % bots
        agent = BOT_AGENTS[np.arange(bots) % len(BOT_AGENTS)][bot]
        frames = []
        for day in range(b.days):
            rng = Streams(self.seed, "bots", day)
            path = np.char.add("/products/sku-", rng.integers(1, 500, hits).astype(str))
            numbers = day * hits + np.arange(hits)
            frames.append(
                pd.DataFrame(
                    {
                        "person": -1 - bot,
                        "surface": "web",
                        "channel": "organic",
                        "type": "page",
                        "event": None,
                        "session": -1,
                        "step": 0,
                        "at": b.ts(np.full(hits, day), rng.integers(0, DAY_SECONDS, hits)),
                        "anonymous_id": zero_padded("anon-bot-", numbers, 8),
                        "url": np.char.add("https://shop.example.com", path),
                        "path": path,
                        "user_agent": agent,
                        "page_name": "Product",
                    }
                )
            )
        frame = pd.concat(frames, ignore_index=True)
        self.bots = pd.DataFrame(
            {
                "person_id": zero_padded("B", -frame["person"].to_numpy(), 6),
                "anonymous_id": frame["anonymous_id"].to_numpy(),
                "user_agent": frame["user_agent"].to_numpy(),
            }
        )
        return pd.concat([ev, frame], ignore_index=True)

    def _orders(self, buy: pd.DataFrame) -> None:
        rng = Streams(self.seed, "orders")
        person = buy["person"].to_numpy()
        o = pd.DataFrame(
            {
                "order_id": buy["order_id"].to_numpy(),
                "person": person,
                "created_at": buy["at"].to_numpy(),
                "email": channels.messy_emails(rng, pd.Series(self.col("email", person))),
                "phone": channels.messy_phones(rng, pd.Series(self.phone_at(person, buy["at"].to_numpy()))),
                "total_price": buy["total_price"].to_numpy(),
                "source_name": buy["source_name"].to_numpy(),
                "shop_customer_id": self.col("shop_customer_id", person),
                "landing_site": np.where(
                    buy["click_id"].isna(),
                    "/",
                    np.where(
                        buy["network"] == "google",
                        "/?utm_source=google&utm_medium=cpc&gclid=",
                        "/?utm_source=facebook&utm_medium=paid_social&fbclid=",
                    )
                    + buy["click_id"].fillna(""),
                ),
            }
        )
        # Guest checkouts sometimes leave no phone.
        o.loc[rng.random(len(o)) < 0.3, "phone"] = None
        o["updated_at"], o["cancelled_at"], o["refund_amount"], o["version"] = o["created_at"], pd.NaT, 0.0, 1
        change = rng.random(len(o))
        cancelled, refunded = change < 0.03, (change >= 0.03) & (change < 0.08)
        later = o[cancelled | refunded].copy()
        later["updated_at"] = later["created_at"] + pd.to_timedelta(
            rng.integers(1, 4, len(later)) * DAY_SECONDS, unit="s"
        )
        is_cancel = cancelled[cancelled | refunded]
        later.loc[is_cancel, "cancelled_at"] = later.loc[is_cancel, "updated_at"]
        later["refund_amount"] = np.where(
            is_cancel, later["total_price"], np.round(later["total_price"] * rng.uniform(0.2, 1.0, len(later)), 2)
        )
        later["version"] = 2
        first_order = int(np.argmin(o["created_at"].to_numpy())) if len(o) else 0
        if len(o) >= 2 and not cancelled[first_order] and not refunded[first_order]:
            # Every world with orders shows a cancellation, whatever the seed: the first order placed is cancelled a
            # day later (a rule about the first order alone, so a longer world has the same first days).
            forced = o.iloc[[first_order]].copy()
            forced["updated_at"] = forced["created_at"] + pd.Timedelta(days=1)
            forced["cancelled_at"], forced["refund_amount"], forced["version"] = (
                forced["updated_at"],
                forced["total_price"],
                2,
            )
            later = pd.concat([later, forced], ignore_index=True)
        versions = pd.concat([o, later], ignore_index=True)
        versions = versions[versions["updated_at"] < self.end]
        self.lines["orders"] = channels.orders(self.con, versions)
        self.order_versions = versions.merge(
            self.lines["orders"][["order_id", "version", "event_id"]], on=["order_id", "version"]
        )
        self._support(o)

    def _support(self, orders: pd.DataFrame) -> None:
        rng = Streams(self.seed, "support")
        t = orders[rng.random(len(orders)) < 0.25].copy()
        t["at"] = t["created_at"] + pd.to_timedelta(rng.integers(3600, 3 * DAY_SECONDS, len(t)), unit="s")
        t = t[t["at"] < self.end]
        t = t.sort_values(["at", "order_id"], kind="mergesort").reset_index(drop=True)
        t["ticket_id"] = 35_000 + np.arange(len(t))
        t["via"] = rng.choice(["email", "chat", "voice", "web", "sms"], len(t))
        person = t["person"].to_numpy()
        t["email"] = np.where(
            t["via"].isin(["voice", "sms"]), None, channels.messy_emails(rng, pd.Series(self.col("email", person)))
        )
        t["phone"] = np.where(
            t["via"].isin(["voice", "sms"]),
            channels.messy_phones(rng, pd.Series(self.phone_at(person, t["at"].to_numpy()))),
            None,
        )
        t["score"] = rng.choice(["good", "bad", "unoffered"], len(t), p=[0.5, 0.1, 0.4])
        self.lines["support"] = channels.support(self.con, t)

    def store(self, sales: pd.DataFrame, guest_rate: float) -> None:
        rng = Streams(self.seed, "store")
        s = sales.sort_values(["at", "person"], kind="mergesort").reset_index(drop=True)
        person = s["person"].to_numpy()
        s["receipt_id"] = "R-" + s["store_id"] + "-" + pd.Series(np.arange(len(s))).astype(str).str.zfill(7)
        s["type"], s["original_receipt_id"] = "sale", None
        scan = rng.random(len(s))
        s["loyalty_id"] = np.where(scan < 0.6, self.col("loyalty_id", person), None)
        s["email"] = np.where(scan > 0.5, channels.messy_emails(rng, pd.Series(self.col("email", person))), None)
        s["phone"] = np.where(
            rng.random(len(s)) < 0.3,
            channels.messy_phones(rng, pd.Series(self.phone_at(person, s["at"].to_numpy()))),
            None,
        )
        # Every world with a store sale shows a guest address: its first sale is one (a rule about the first sale,
        # so that a longer world's first days are the same).
        guest = rng.random(len(s)) < guest_rate
        guest[:1] |= guest_rate > 0
        s.loc[guest, "email"] = GUEST_EMAILS[rng.integers(0, len(GUEST_EMAILS), len(s))[guest]]
        # A guest address is dangerous because several people type it: the next sale by someone else takes the first
        # sale's guest address (no draw more).
        if guest.any():
            first = int(np.flatnonzero(guest)[0])
            others = np.flatnonzero(~guest & (person != person[first]))
            if len(others):
                guest[others[0]] = True
                s.loc[others[0], "email"] = s.at[first, "email"]
        zero_phone = guest & (rng.random(len(s)) < 0.5)
        s.loc[zero_phone, "phone"] = JUNK_PHONES[0]
        s["tag"] = np.where(guest, "guest_email", None)
        now = (s["at"] < self.end).to_numpy()  # junk typed at sales that have happened
        guest, zero_phone = guest & now, zero_phone & now
        self.junk = pd.concat(
            [
                self.junk,
                pd.DataFrame(
                    {
                        "person": np.concatenate([person[guest], person[zero_phone]]),
                        "identifier_type": ["email"] * int(guest.sum()) + ["phone"] * int(zero_phone.sum()),
                        "identifier_value": np.concatenate(
                            [s["email"].to_numpy()[guest], np.full(zero_phone.sum(), "+10000000000")]
                        ),
                    }
                ),
            ],
            ignore_index=True,
        )
        end = self.end
        is_returned = rng.random(len(s)) < 0.05
        delay_days = rng.integers(1, 4, len(s))
        # Every world with a store sale a day before its end shows a return, whatever the seed: the first sale is
        # brought back the next day (a rule about the first sale; the draws stay as they were).
        is_returned[:1], delay_days[:1] = True, np.where(is_returned[:1], delay_days[:1], 1)
        delay_days = delay_days[is_returned]
        returned = s[is_returned].copy()
        delay = pd.to_timedelta(delay_days * DAY_SECONDS, unit="s")
        returned["original_receipt_id"], returned["type"] = returned["receipt_id"], "return"
        returned["receipt_id"] = returned["receipt_id"] + "-RET"
        returned["at"] = returned["at"] + delay
        # The till's clock is local: a return days later can fall across a daylight-saving change, so its local time
        # comes from its UTC time, not from the sale's local time plus the delay.
        local = np.empty(len(returned), dtype="datetime64[ns]")
        zones = returned["store_tz"].to_numpy()
        for zone in np.unique(zones):
            mask = zones == zone
            local[mask] = (
                pd.DatetimeIndex(returned["at"].to_numpy()[mask])
                .tz_localize("UTC")
                .tz_convert(zone)
                .tz_localize(None)
                .to_numpy()
            )
        returned["local_time"] = local
        returned = returned[returned["at"] < end]
        s = s[s["at"] < end]  # an evening sale in the west on the last day is tomorrow in UTC
        person = s["person"].to_numpy()
        self.lines["pos"] = channels.pos(self.con, pd.concat([s, returned], ignore_index=True))
        self.sales, self.returns = s, returned

    def purchases(self, arrived: dict[str, np.ndarray]) -> pd.DataFrame:
        """Every purchase whose record the landing zone holds (`arrived`: per table, the event ids delivered): an
        order export or its Order Completed event, as its latest delivered version says (a refund still in flight
        has not reached the data yet)."""
        none = np.array([], dtype=object)
        landed = np.concatenate([arrived.get("web", none), arrived.get("app", none)])
        seen = self.completed.loc[dirt.among(self.completed["message_id"], landed), "order_id"].astype(np.int64)
        v = self.order_versions
        v = v[
            dirt.among(v["event_id"], arrived.get("orders", none))
            | ((v["version"] == 1) & v["order_id"].isin(seen)).to_numpy()
        ]
        final = v.sort_values("version", kind="mergesort").drop_duplicates("order_id", keep="last")
        online = pd.DataFrame(
            {
                "order_ref": final["order_id"].astype(str),
                "person": final["person"],
                "purchase_channel": np.where(final["source_name"] == "web", "web", "app"),
                "converted_at": final["created_at"],
                "gross_revenue": final["total_price"],
                "net_revenue": np.round(final["total_price"] - final["refund_amount"], 2),
                "currency": "USD",
            }
        )
        pos = arrived.get("pos", none)
        s = self.sales[dirt.among(self.sales["receipt_id"], pos)]
        returned = self.returns[dirt.among(self.returns["receipt_id"], pos)]
        refunds = returned.groupby("original_receipt_id")["total_cents"].sum()
        net = s["total_cents"] - refunds.reindex(s["receipt_id"]).fillna(0).to_numpy()
        store = pd.DataFrame(
            {
                "order_ref": s["receipt_id"],
                "person": s["person"],
                "purchase_channel": "store",
                "converted_at": s["at"],
                "gross_revenue": s["total_cents"] / 100,
                "net_revenue": net / 100,
                "currency": "USD",
            }
        )
        return pd.concat([online, store], ignore_index=True)

    def _opt_out_heard(self, channel: str, person: np.ndarray, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """When the CRM records an opt-out: an hour after the reply to a campaign that made it (the ESP's
        unsubscribe, a STOP text), else some time the day before the person's opt-out day."""
        b = self.b
        planned = b.ts(np.maximum(day - 1, 0), seconds)
        replied = b.left_at[channel][person] if channel in b.left_at else np.full(len(person), np.datetime64("NaT"))
        return np.where(np.isnat(replied), planned, replied + np.timedelta64(1, "h"))

    def crm(self) -> None:
        rng, p, b = Streams(self.seed, "crm"), self.p, self.b
        members = np.flatnonzero(p["in_crm"].to_numpy())
        existing = self.crm_existing[members].copy()
        # A changed address: the initial export holds the old one, the change day's export the new one.
        changes = self.esp.changes
        changed = pd.Index(changes["person"]).get_indexer(members)
        existing |= changed >= 0
        created_day = np.where(existing, 0, self.crm_created_day[members])
        created_at = np.where(
            existing,
            np.datetime64(b.start) - pd.to_timedelta(rng.integers(1, 900, len(members)), unit="D").to_numpy(),
            b.ts(created_day, rng.integers(0, DAY_SECONDS, len(members))),
        )
        c = pd.DataFrame(
            {
                "person": members,
                "customer_id": self.col("customer_id", members),
                "email": np.where(
                    changed >= 0, np.append(changes["old_email"].to_numpy(), "")[changed], self.col("email", members)
                ),
                "phone": channels.messy_phones(
                    rng, pd.Series(self.phone_at(members, b.ts(created_day, np.zeros(len(members), int))))
                ),
                "first_name": self.col("first_name", members),
                "last_name": self.col("last_name", members),
                "birth_date": self.col("birth_date", members),
                "gender": self.col("gender", members),
                "loyalty_id": self.col("loyalty_id", members),
                "instagram_handle": self.col("instagram_handle", members),
                "created_at": created_at,
                # Delivered on the day the customer appeared; the day-0 file is the initial export.
                "at": b.ts(created_day, np.full(len(members), DAY_SECONDS - 1)),
            }
        )
        # A recycled number: the CRM hears of it on the switch day and re-exports both customers' rows.
        updates = []
        for column, phone_day in (("old_person_id", "until"), ("new_person_id", "from")):
            idx = pd.Index(p["person_id"]).get_indexer(self.world.recycled[column])
            in_crm = p["in_crm"].to_numpy()[idx]
            rows = c.set_index("person").reindex(idx[in_crm]).reset_index()
            switch = self.world.recycled["switch_day"].to_numpy()[in_crm]
            rows["at"] = b.ts(switch, np.full(len(rows), DAY_SECONDS - 1))
            rows["phone"] = (
                None
                if phone_day == "until"
                else channels.messy_phones(rng, pd.Series(self.col("phone", rows["person"].to_numpy())))
            )
            updates.append(rows.dropna(subset=["customer_id"]))
        moved = c[c["person"].isin(changes["person"])].set_index("person").loc[changes["person"]].reset_index()
        moved["email"] = self.col("email", moved["person"].to_numpy())
        moved["at"] = b.ts(changes["change_day"].to_numpy(), np.full(len(moved), DAY_SECONDS - 1))
        updates.append(moved)
        # An unchanged customer is not exported again.
        c = pd.concat([c, *updates], ignore_index=True).drop_duplicates(["customer_id", "email", "phone"])
        c = c[c["at"] < self.end]  # customers who sign up later, numbers and addresses that change later
        self.lines["crm_customers"] = channels.crm_customers(self.con, c)
        rows = []
        for channel, flag in (("email", "email_opt_in"), ("sms", "sms_opt_in"), ("push", "push_opt_in"), ("ads", None)):
            status = np.where(self.col(flag, members) if flag else rng.random(len(members)) < 0.7, "opt_in", "opt_out")
            signed_up = b.ts(created_day, rng.integers(0, DAY_SECONDS, len(members))).copy()
            rows.append(
                pd.DataFrame(
                    {
                        "person": members,
                        "customer_id": self.col("customer_id", members),
                        "email": None,
                        "phone": None,
                        "channel": channel,
                        "status": status,
                        "at": signed_up,
                        "consent_source": "signup",
                    }
                )
            )
            if channel in b.opt_out_day:
                day = b.opt_out_day[channel][members]
                out = day < NEVER
                seconds = rng.integers(0, DAY_SECONDS, len(members))[out]
                # The preference centre names the address or number it was reached on; the app's names the
                # logged-in customer (a push opt-out without it would name nobody).
                rows.append(
                    pd.DataFrame(
                        {
                            "person": members[out],
                            "customer_id": self.col("customer_id", members[out]) if channel == "push" else None,
                            "email": self.col("email", members[out]) if channel == "email" else None,
                            "phone": self.col("phone", members[out]) if channel == "sms" else None,
                            "channel": channel,
                            "status": "opt_out",
                            "at": self._opt_out_heard(channel, members[out], day[out], seconds),
                            "consent_source": "preference_center",
                        }
                    )
                )
                # Whoever opts out signed up before (not before the first export): their sign-up is dated earlier.
                signup, opt_out = rows[-2], rows[-1].set_index("person")["at"]
                earlier = (opt_out - pd.Timedelta(hours=1)).reindex(signup["person"]).to_numpy()
                signup["at"] = np.where(
                    pd.isna(earlier),
                    signup["at"].to_numpy(),
                    np.maximum(np.minimum(signup["at"].to_numpy(), earlier), np.datetime64(b.start)),
                )
                # Who opted out before the world began: in the first export, dated when it happened, as is the
                # sign-up before it.
                rows[-1]["changed_at"] = pd.Series(
                    [b.legacy_opt_out.get(m) for m in rows[-1]["person"]], index=rows[-1].index, dtype="datetime64[ns]"
                )
                signup["changed_at"] = pd.Series(
                    [
                        b.legacy_opt_out[m] - pd.Timedelta(days=10) if m in b.legacy_opt_out else None
                        for m in signup["person"]
                    ],
                    index=signup.index,
                    dtype="datetime64[ns]",
                )
        consents = pd.concat(rows, ignore_index=True)
        # The change's own time (truth and the export's line); `at` stays the export's.
        consents["changed_at"] = (
            consents["changed_at"].where(consents["changed_at"].notna(), consents["at"])
            if "changed_at" in consents
            else consents["at"]
        )
        consents["customer_id"] = consents["customer_id"].where(consents["customer_id"].notna(), None)
        consents = consents[consents["at"] < self.end].reset_index(drop=True)
        self.lines["crm_consents"] = channels.crm_consents(self.con, consents)
        self.consents = consents
