"""Which address the ESP writes each message to: the CRM's, or one the CRM does not hold for that customer.

People hold more than one address, and the ESP's list drifts from the CRM's. Every message below is still tagged,
rightly, with the intended person's CRM `customer_id`:
- `second`: some people give the shop a second address that the CRM never learns; the ESP mails it now and then.
- `stale`: some people's CRM address changes (the CRM re-exports them on the change day) while the ESP keeps
  mailing the old one for a few more days.
- `other_customer` (only with `--fault misaddress:email:<day>:<fraction>`): that share of the day's messages goes
  to another CRM customer's address, as when an ESP merges two contacts: mail for one person reaches another.
The truth lists every address the ESP used, per person, kind and day (`_truth/esp_addresses.parquet`), and each
second and stale address and misaddressed message in `faults.json`.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator.streams import Streams
from simulator.world import EMAIL_DOMAINS

SECOND_ADDRESS_SHARE = 0.35  # of a second-address person's messages, the share the ESP sends to that address
# A stale address: the CRM changes it on day 1 + [0, STALE_CHANGE_WITHIN) (the first such person on day 1, so any
# world of three days shows one), and the ESP keeps mailing the old one for STALE_LAG days (inclusive) after that:
# two days at least, so an email day (every other day) always falls in them.
STALE_CHANGE_WITHIN = 6
STALE_LAG = (2, 4)


@dataclass
class EspAddresses:
    """Per email line: the address written to, its kind, and whether the message surely carries the customer id."""

    address: np.ndarray
    kind: np.ndarray
    tagged: np.ndarray
    # Stale people, for the CRM: person (index), old_email, change_day (the day the CRM lists the new address).
    changes: pd.DataFrame
    truth: pd.DataFrame  # person, email, kind, sent_date, messages
    messages: pd.DataFrame  # per message: sg_message_id, person, email, kind, sent_date
    faults: list[dict] = field(default_factory=list)


def _pick(rng: np.random.Generator, pool: np.ndarray, n_people: int, rate: float) -> np.ndarray:
    """About `rate * n_people` of the pool, at least one when the rate is positive and the pool is not empty."""
    if rate <= 0 or not len(pool):
        return pool[:0]
    wanted = min(len(pool), max(1, round(n_people * rate)))
    return np.sort(rng.choice(pool, wanted, replace=False))


def _day(start: pd.Timestamp, index) -> str:
    return (start + pd.Timedelta(days=int(index))).date().isoformat()


def _other_domain(rng: np.random.Generator, email: np.ndarray) -> np.ndarray:
    """A domain from the usual ones, never the one the person's address already has."""
    current = pd.Index(EMAIL_DOMAINS).get_indexer(pd.Series(email).str.split("@").str[-1])
    current = np.where(current < 0, 0, current)
    return EMAIL_DOMAINS[(current + rng.integers(1, len(EMAIL_DOMAINS), len(email))) % len(EMAIL_DOMAINS)]


def assign(
    seed: int,
    people: pd.DataFrame,
    lines: pd.DataFrame,
    rates: dict,
    misaddress_days: dict[str, float],
    start: pd.Timestamp,
    keep: np.ndarray,
    email_opt_out: np.ndarray,
    crm_from_day: np.ndarray,
) -> EspAddresses:
    """Decide the ESP's address for every line of `lines` (the email frame: person, sg_message_id, event, at);
    people in `keep` never change their CRM address. Who has a second or stale address, and when the CRM changes
    it, is decided over the whole population (`email_opt_out`: each person's first day without email), so a
    longer world has the same ones; `crm_from_day`: the day the CRM first lists each person."""
    rng = Streams(seed, "addresses")
    messages = lines.loc[lines["event"] == "processed", ["sg_message_id", "person", "at"]].drop_duplicates(
        "sg_message_id"
    )
    messages["day"] = ((messages["at"].to_numpy() - np.datetime64(start)) // np.timedelta64(1, "D")).astype(int)
    messages = messages.sort_values(["day", "sg_message_id"], kind="mergesort").reset_index(drop=True)
    person = messages["person"].to_numpy()
    email = people["email"].to_numpy().astype(str)
    # Only ordinary, valid addresses of real CRM customers drift (test accounts and role mailboxes stay put).
    ordinary = (
        people["in_crm"].to_numpy()
        & (people["email_status"].to_numpy() == "valid")
        & ~people["is_test_account"].to_numpy()
    )
    mailed = ordinary & people["email_opt_in"].to_numpy()  # the campaigns mail them until they opt out
    n = len(people)

    ids = people["person_id"].str.slice(1).astype(int).to_numpy().astype(str)
    first = np.char.lower(people["first_name"].to_numpy().astype(str))
    last = np.char.lower(people["last_name"].to_numpy().astype(str))

    # Second addresses: "marysmith.12@..." beside the CRM's "mary.smith12@...", never the same text; among people
    # the first campaign mails.
    second = _pick(rng, np.flatnonzero(mailed & (email_opt_out > 0) & (crm_from_day == 0)), n, rates["second_email"])
    second_address = np.char.add(
        np.char.add(np.char.add(first[second], last[second]), np.char.add(".", ids[second])),
        np.char.add("@", _other_domain(rng, email[second])),
    )
    # Stale addresses: among people still mailed on day 2, the CRM changes the address on day k; the ESP keeps the
    # old one STALE_LAG days more, then catches up.
    candidates = np.flatnonzero(
        mailed & ~keep & ~np.isin(np.arange(n), second) & (email_opt_out > 2) & (crm_from_day == 0)
    )
    stale = _pick(rng, candidates, n, rates["stale_email"])
    change_day = 1 + rng.integers(0, STALE_CHANGE_WITHIN, len(stale))
    change_day[:1] = 1
    esp_until = change_day + 1 + rng.integers(STALE_LAG[0], STALE_LAG[1] + 1, len(stale))
    old_address = np.char.add(
        np.char.add(np.char.add(first[stale], "."), np.char.add(last[stale], ".")),
        np.char.add(ids[stale], np.char.add("@", _other_domain(rng, email[stale]))),
    )

    address = email[person].astype(object)
    kind = np.full(len(messages), "crm", dtype=object)
    # Second: a share of that person's messages, and the first of them.
    is_second = np.isin(person, second)
    chosen = is_second & ((rng.random(len(messages)) < SECOND_ADDRESS_SHARE) | ~pd.Series(person).duplicated())
    slot = pd.Index(second).get_indexer(person[chosen])
    address[chosen], kind[chosen] = second_address[slot], "second"
    # Stale: the old address until the ESP catches up; on and before the CRM's change day it is the CRM's too.
    slot = pd.Index(stale).get_indexer(person)  # -1, the appended 0 below, for everyone else
    day = messages["day"].to_numpy()
    old = day < np.append(esp_until, 0)[slot]
    address[old] = old_address[slot[old]]
    kind[old & (day > np.append(change_day, 0)[slot])] = "stale"

    seen_second, seen_stale = set(person[kind == "second"]), set(person[kind == "stale"])
    faults = [
        {
            "kind": "second_email",
            "source": "email",
            "event_id": a,
            "detail": f"{people['person_id'].iat[p]}'s second address, never in the CRM; mailed with "
            f"{people['customer_id'].iat[p]}",
        }
        for p, a in zip(second, second_address)
        if p in seen_second  # the ESP has used it by the last day
    ]
    faults += [
        {
            "kind": "stale_email",
            "source": "email",
            "event_id": a,
            "detail": f"{people['person_id'].iat[p]}'s CRM address until the CRM lists {email[p]} on "
            f"{_day(start, k)}; the ESP mails the old one until {_day(start, u - 1)}",
        }
        for p, a, k, u in zip(stale, old_address, change_day, esp_until)
        if p in seen_stale  # the ESP has mailed it after the change by the last day
    ]
    # Misaddressed: another ordinary CRM customer's current address, still tagged with the intended customer.
    pool = np.flatnonzero(ordinary & ~np.isin(np.arange(n), np.concatenate([second, stale])))
    for day_text, fraction in sorted(misaddress_days.items()):
        day = (pd.Timestamp(day_text) - start).days
        rng = Streams(seed, "misaddress", day)
        candidates = np.flatnonzero((messages["day"].to_numpy() == day) & (kind == "crm"))
        listed = pool[crm_from_day[pool] <= day]  # customers the CRM lists by then
        if fraction <= 0 or not len(candidates) or len(listed) < 2:
            faults.append(
                {
                    "kind": "misaddress",
                    "source": "email",
                    "day": day_text,
                    "detail": "no message to misaddress that day (the ESP mails every other day)",
                }
            )
            continue
        hit = np.sort(
            rng.choice(candidates, min(len(candidates), max(1, round(len(candidates) * fraction))), replace=False)
        )
        target = listed[rng.integers(0, len(listed), len(hit))]
        target = np.where(target == person[hit], listed[(np.searchsorted(listed, target) + 1) % len(listed)], target)
        address[hit], kind[hit] = email[target], "other_customer"
        faults += [
            {
                "kind": "misaddress",
                "source": "email",
                "day": day_text,
                "event_id": m,
                "detail": f"tagged {people['customer_id'].iat[p]} ({people['person_id'].iat[p]}) but sent to "
                f"{people['person_id'].iat[t]}'s address",
            }
            for m, p, t in zip(messages["sg_message_id"].to_numpy()[hit], person[hit], target)
        ]

    per_line = pd.Index(messages["sg_message_id"]).get_indexer(lines["sg_message_id"])
    line_kind = kind[per_line]
    per_message = pd.DataFrame(
        {
            "sg_message_id": messages["sg_message_id"].to_numpy(),
            "person": person,
            "email": address.astype(str),
            "kind": kind,
            "sent_date": messages["at"].to_numpy().astype("datetime64[D]"),
        }
    )
    return EspAddresses(
        address=address[per_line],
        kind=line_kind,
        tagged=line_kind != "crm",
        changes=pd.DataFrame({"person": stale, "old_email": old_address, "change_day": change_day}),
        truth=esp_truth(per_message),
        messages=per_message,
        faults=faults,
    )


def esp_truth(messages: pd.DataFrame) -> pd.DataFrame:
    """Messages per person, address, kind and UTC day."""
    return messages.groupby(["person", "email", "kind", "sent_date"], sort=True).size().rename("messages").reset_index()
