"""The simulated world's people: households, identifiers, consent, and the dirt that lives in identity data."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

FIRST_NAMES = np.array(
    [
        "James",
        "Mary",
        "John",
        "Patricia",
        "Robert",
        "Jennifer",
        "Michael",
        "Linda",
        "David",
        "Elizabeth",
        "William",
        "Barbara",
        "Sofia",
        "Liam",
        "Olivia",
        "Noah",
        "Emma",
        "Mateo",
        "Ava",
        "Lucas",
        "Mia",
        "Ethan",
        "Aria",
        "Kenji",
        "Priya",
        "Chen",
        "Fatima",
        "Omar",
    ]
)
LAST_NAMES = np.array(
    [
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Garcia",
        "Miller",
        "Davis",
        "Rodriguez",
        "Martinez",
        "Hernandez",
        "Lopez",
        "Gonzalez",
        "Wilson",
        "Anderson",
        "Thomas",
        "Taylor",
        "Moore",
        "Jackson",
        "Martin",
        "Lee",
        "Perez",
        "Thompson",
        "White",
        "Nguyen",
        "Patel",
    ]
)
EMAIL_DOMAINS = np.array(
    ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "proton.me", "comcast.net"]
)
TYPO_DOMAINS = np.array(["gmial.com", "gmai.com", "yaho.com", "hotmial.com", "outlok.com", "icloud.co"])
ROLE_LOCALS = np.array(["info", "sales", "support", "admin", "contact", "office"])


def _disposable_domains() -> np.ndarray:
    """Well-known throwaway domains, taken from the `disposable-email-domains` blocklist when it is installed."""
    wanted = [
        "mailinator.com",
        "guerrillamail.com",
        "10minutemail.com",
        "yopmail.com",
        "sharklasers.com",
        "trashmail.com",
    ]
    try:
        from disposable_email_domains import blocklist
    except ImportError:  # the package is optional at run time; these names are all on its list
        return np.array(wanted)
    return np.array([d for d in wanted if d in blocklist] or sorted(blocklist)[:4])


DISPOSABLE_DOMAINS = _disposable_domains()
# Area codes of the three store regions; exchange and line digits are drawn so numbers are valid.
AREA_CODES = np.array(["212", "646", "718", "312", "773", "214", "415", "213", "310", "206"])
STORES = pd.DataFrame(
    {
        "store_id": ["S01", "S02", "S03", "S04", "S05", "S06"],
        "store_tz": [
            "America/New_York",
            "America/New_York",
            "America/Chicago",
            "America/Chicago",
            "America/Los_Angeles",
            "America/Los_Angeles",
        ],
    }
)
# Where each area code is: people live near their number's area code and shop at a store in its time zone.
AREA_TIME_ZONES = {
    "212": "America/New_York",
    "646": "America/New_York",
    "718": "America/New_York",
    "312": "America/Chicago",
    "773": "America/Chicago",
    "214": "America/Chicago",
    "415": "America/Los_Angeles",
    "213": "America/Los_Angeles",
    "310": "America/Los_Angeles",
    "206": "America/Los_Angeles",
}
GUEST_EMAILS = np.array(["guest@store.example.com", "noemail@noemail.com", "none@none.com"])
JUNK_PHONES = np.array(["000-000-0000", "0000000000"])


@dataclass
class World:
    people: pd.DataFrame  # one row per person, golden truth and channel propensities
    devices: pd.DataFrame  # device_id, person_id, device_type, shared
    cookies: pd.DataFrame  # anonymous_id, person_id
    recycled: pd.DataFrame  # phone reassigned: phone_e164, old_person_id, new_person_id, switch_day


def _hex(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    digits = rng.integers(0, 16, size=(n, width))
    alphabet = np.array(list("0123456789abcdef"))
    return np.array(["".join(row) for row in alphabet[digits]]) if n else np.array([], dtype=str)


def below_rate(draws: np.ndarray, rate: float) -> np.ndarray:
    """`draws < rate`, and the smallest draw too when that picks nothing at a positive rate.

    Every kind of dirt then shows in every world, whatever its size and seed, without a draw more: a world where
    the kind came up anyway is unchanged.
    """
    mask = draws < rate
    if rate > 0 and len(draws) and not mask.any():
        mask[np.argmin(draws)] = True
    return mask


def at_least_one(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """A mask of about `rate * n` people, at least one when the rate is positive (small worlds show every kind)."""
    mask = np.zeros(n, bool)
    if rate > 0 and n:
        mask[rng.choice(n, min(n, max(1, round(n * rate))), replace=False)] = True
    return mask


def _draw_phones(rng: np.random.Generator, n: int) -> np.ndarray:
    area = AREA_CODES[rng.integers(0, len(AREA_CODES), n)]
    exchange = rng.integers(201, 999, n)
    exchange = np.where(exchange % 100 == 11, exchange + 1, exchange)  # N11 codes are not exchanges
    exchange = np.where(exchange == 555, 556, exchange)
    line = rng.integers(1000, 9999, n)
    return np.char.add(np.char.add(np.char.add("+1", area), exchange.astype(str)), line.astype(str))


# How many distinct numbers `_draw_phones` can give: area codes x exchanges (N11 and 555 excluded) x lines.
PHONE_NUMBERS = len(AREA_CODES) * (998 - 201 + 1 - 8 - 1) * (9998 - 1000 + 1)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` distinct valid US numbers in E.164. Two people never hold one number by chance: the only numbers two
    people hold are the deliberate ones (recycled numbers, junk typed at the till), which the truth records."""
    if n > PHONE_NUMBERS // 2:  # redraws settle quickly while most numbers are still free
        raise ValueError(f"{n:,} people are more than half the {PHONE_NUMBERS:,} numbers the area codes hold")
    phones = _draw_phones(rng, n)
    # Independent draws collide (about n^2 / (2 x PHONE_NUMBERS) pairs: ~7,000 at a million people); later
    # holders of a drawn number draw again. A small world rarely collides, so its random stream is unchanged.
    while (repeat := pd.Series(phones).duplicated().to_numpy()).any():
        phones[repeat] = _draw_phones(rng, int(repeat.sum()))
    return phones


# "Never" as a day index: a phone still held, a customer who never opts out. Nothing about a person depends on
# how many days a world runs, so a longer world is the same people for longer.
NEVER = 1_000_000
# Recycled numbers change hands within the first two weeks (the first one on day 1, so that any world of two days
# or more shows one).
SWITCH_WITHIN = 14


def build_world(rng: np.random.Generator, customers: int, rates: dict) -> World:
    n = customers
    ids = np.arange(1, n + 1)
    household = np.cumsum(rng.random(n) < 0.6)  # about 1.7 people a household
    first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)]
    last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)]
    local = np.char.add(np.char.add(np.char.lower(first), "."), np.char.lower(last))
    local = np.char.add(local, ids.astype(str))
    domain = EMAIL_DOMAINS[rng.integers(0, len(EMAIL_DOMAINS), n)]
    status = np.full(n, "valid", dtype=object)
    kind = rng.random(n)
    r = rates
    cut_role, cut_disp = r["role_email"], r["role_email"] + r["disposable_email"]
    cut_typo, cut_invalid = cut_disp + r["typo_email"], cut_disp + r["typo_email"] + r["invalid_email"]
    role = kind < cut_role
    disposable = (kind >= cut_role) & (kind < cut_disp)
    typo = (kind >= cut_disp) & (kind < cut_typo)
    invalid = (kind >= cut_typo) & (kind < cut_invalid)
    # Every kind of address in every world: a kind nobody drew goes to the valid person whose draw came closest
    # to it (no draw more, so a world that has every kind is unchanged).
    valid = ~(role | disposable | typo | invalid)
    for mask, cut, rate_name in (
        (role, cut_role, "role_email"),
        (disposable, cut_disp, "disposable_email"),
        (typo, cut_typo, "typo_email"),
        (invalid, cut_invalid, "invalid_email"),
    ):
        if r[rate_name] > 0 and not mask.any() and valid.any():
            nearest = np.flatnonzero(valid)[np.argmin(np.abs(kind[valid] - cut))]
            mask[nearest], valid[nearest] = True, False
    local = np.where(role, np.char.add(ROLE_LOCALS[rng.integers(0, len(ROLE_LOCALS), n)], ids.astype(str)), local)
    domain = np.where(disposable, DISPOSABLE_DOMAINS[rng.integers(0, len(DISPOSABLE_DOMAINS), n)], domain)
    domain = np.where(typo, TYPO_DOMAINS[rng.integers(0, len(TYPO_DOMAINS), n)], domain)
    email = np.char.add(np.char.add(local, "@"), domain)
    # Invalid syntax: half have no @ at all, half a double dot in the local part.
    no_at = np.char.add(np.char.add(local, ".."), domain)
    double_dot = np.char.add(np.char.add(np.char.replace(local, ".", "..", count=1), "@"), domain)
    email = np.where(invalid, np.where(ids % 2 == 0, no_at, double_dot), email)
    status[role], status[disposable], status[typo], status[invalid] = "role", "disposable", "typo", "invalid"
    # Role accounts read as "info1234@", which is how a shared mailbox looks in a customer list.
    email = np.where(
        role,
        np.char.add(
            np.char.add(ROLE_LOCALS[ids % len(ROLE_LOCALS)], "@"),
            np.char.add(np.char.add("company", ids.astype(str)), ".com"),
        ),
        email,
    )
    people = pd.DataFrame(
        {
            "person_id": np.char.add("P", np.char.zfill(ids.astype(str), 7)),
            "household_id": np.char.add("H", np.char.zfill(household.astype(str), 7)),
            "first_name": first,
            "last_name": last,
            "email": email,
            "email_status": status,
            "phone": _phones(rng, n),
            "birth_date": pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 55, n), unit="D"),
            "gender": np.where(rng.random(n) < 0.5, "F", "M"),
            "in_crm": rng.random(n) < 0.8,
            "has_shop_account": rng.random(n) < 0.65,
            "has_loyalty": rng.random(n) < 0.45,
            "has_instagram": rng.random(n) < 0.35,
            "uses_app": rng.random(n) < 0.5,
            "home_store": STORES["store_id"].to_numpy()[rng.integers(0, len(STORES), n)],
            "email_opt_in": rng.random(n) < 0.85,
            "sms_opt_in": rng.random(n) < 0.55,
            "push_opt_in": rng.random(n) < 0.6,
            "activity": rng.gamma(2.0, 0.5, n),  # how often this person shows up at all
            "is_test_account": at_least_one(rng, n, r["test_account"]),
        }
    )
    # The home store is one of the stores in the time zone of the person's area code (the draw above picks which).
    zone = pd.Series(people["phone"].str[2:5]).map(AREA_TIME_ZONES).to_numpy()
    pick = pd.Index(STORES["store_id"]).get_indexer(people["home_store"]) % 2
    in_zone = {tz: g["store_id"].to_numpy() for tz, g in STORES.groupby("store_tz")}
    people["home_store"] = [in_zone[z][i % len(in_zone[z])] for z, i in zip(zone, pick)]
    people["customer_id"] = np.where(people["in_crm"], np.char.add("C", np.char.zfill(ids.astype(str), 7)), None)
    people["shop_customer_id"] = np.where(people["has_shop_account"], (7_000_000_000 + ids * 7).astype(str), None)
    people["loyalty_id"] = np.where(people["has_loyalty"], np.char.add("L", np.char.zfill(ids.astype(str), 8)), None)
    people["instagram_handle"] = np.where(
        people["has_instagram"], np.char.add("@", np.char.add(np.char.lower(first), ids.astype(str))), None
    )
    people.loc[people["is_test_account"], "email"] = (
        np.char.add("test", ids[people["is_test_account"]].astype(str)) + "@test.example.com"
    )
    people.loc[people["is_test_account"], "email_status"] = "valid"
    # Someone of each kind of address is a CRM customer, so that the address is in the data: the CRM exports every
    # customer it holds, while other people may never show up in a short world.
    for kind in ("role", "disposable", "typo", "invalid"):
        holders = np.flatnonzero((people["email_status"] == kind).to_numpy())
        if len(holders) and not people["in_crm"].to_numpy()[holders].any():
            people.loc[holders[0], "in_crm"] = True
            people.loc[holders[0], "customer_id"] = "C" + str(ids[holders[0]]).zfill(7)

    # Devices: phones for app users; some households share one family tablet.
    app_people = people.index[people["uses_app"]].to_numpy()
    device_ids = _hex(rng, len(app_people), 16)
    devices = pd.DataFrame(
        {
            "device_id": np.char.add("dev-", device_ids),
            "person_id": people["person_id"].to_numpy()[app_people],
            "device_type": np.where(rng.random(len(app_people)) < 0.55, "ios", "android"),
            "shared": False,
        }
    )
    households = people.groupby("household_id")["person_id"].agg(list)
    multi = households[households.map(len) > 1]
    share = multi[rng.random(len(multi)) < r["shared_device"] * 10]
    tablets = [(f"dev-tablet-{h.lower()}", p, "ios", True) for h, members in share.items() for p in members]
    if tablets:
        devices = pd.concat([devices, pd.DataFrame(tablets, columns=devices.columns)], ignore_index=True)
    counts = rng.integers(1, 4, n)
    owners = np.repeat(people["person_id"].to_numpy(), counts)
    cookies = pd.DataFrame({"anonymous_id": np.char.add("anon-", _hex(rng, len(owners), 20)), "person_id": owners})

    # Recycled phones: the number of someone who left is later given to someone else.
    # Donors and receivers are disjoint, so each person holds at most one number with one validity window.
    is_donor = below_rate(rng.random(n), r["recycled_phone"]) if n > 1 else np.zeros(n, bool)
    donors = np.flatnonzero(is_donor)
    others = np.flatnonzero(~is_donor)
    receivers = others[rng.permutation(len(others))[: len(donors)]]
    donors = donors[: len(receivers)]
    switch_day = rng.integers(1, SWITCH_WITHIN, len(donors))
    switch_day[:1] = 1
    recycled = pd.DataFrame(
        {
            "phone_e164": people["phone"].to_numpy()[donors],
            "old_person_id": people["person_id"].to_numpy()[donors],
            "new_person_id": people["person_id"].to_numpy()[receivers],
            "switch_day": switch_day,
        }
    )
    # The old owner stops using the number on the switch day; the new owner uses it from then on.
    people["phone_from_day"] = 0
    people["phone_until_day"] = NEVER
    people.loc[donors, "phone_until_day"] = switch_day
    people.loc[receivers, "phone"] = people["phone"].to_numpy()[donors]
    people.loc[receivers, "phone_from_day"] = switch_day
    return World(people, devices, cookies, recycled)
