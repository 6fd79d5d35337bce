"""The channel simulator: a landing zone in the contract's shapes, its `_control` totals and its ground truth.

Modules, one purpose each:
- `world`: people, households, stores, identifiers (emails with their true status, phones incl. recycled
  numbers, cookies, devices incl. shared family tablets, CRM/shop/loyalty ids, handles), test accounts.
- `behaviour`: campaign calendars that follow consent, engagement, caused and organic visits, store visits;
  `CHANNEL_EFFECTS` is the true per-channel effect.
- `sources`: puts identifiers on events as each system would see them, derives orders, refunds, POS sales and
  returns, support tickets, CRM rows and consents, bots and guest checkouts.
- `addresses`: the ESP's address per message: the CRM's, a second address the CRM never learns, a stale one
  after a CRM change, or (`misaddress` fault) another customer's.
- `channels`: vendor-shaped lines (docs/landing-records.md), written as DuckDB SQL.
- `dirt`: duplicates, late deliveries, corrupted copies, unknown fields and event types.
- `faults`: `--fault` sync faults (drop, delay, misaddress).
- `streams`: the random streams (per seed and purpose, per day) that keep a world's first days the same in longer ones.
- `contact_policy`: the contact-policy truth (frequency breaches, sends after an opt-out) from what was written;
  `Behaviour.misfires` injects the breaches.
- `writer`: files (some gzipped), `_control` totals.  `truth`: `_truth/*.parquet` (`esp_addresses.parquet`: every address the
  ESP mailed, per person, kind and day), `channel_effects.json`, `faults.json`, `preferred_hours.parquet` and
  `engagement_effects.json` (send hour, multi-channel effect).

Volume: about 2.2 events per customer per day at the default rates (email campaigns every other day are a
third of it, web a quarter, CRM consents a tenth), so `customers` x `days` x 2.2 is the event count and
`customers_for_events(n, days)` sizes a world for a benchmark (10M events over 14 days: ~325k customers).
Deterministic for a seed: every random draw comes from a PCG64 stream named by the seed and what it decides
(`streams`), every file is sorted before it is written, gzip headers carry no time, and nothing depends on set order
or string hashing.

A world extends: with the same seed, customers, rates, faults and start, the first N delivery days' files and their
`_control` totals are byte for byte the same whatever `days` is (N <= days). The people, and everything decided about
a person (opt-out days, recycled numbers, second and stale addresses, CRM sign-up days, misfires), are drawn up front
without the horizon; each day's campaigns, visits, clicks and sales draw from that day's streams and depend on
earlier days only; the draws that decorate events (identifiers as typed, dirt) run over frames in time order, each
from a stream of its own, so a longer world's first rows get the same draws. Nothing happens after the last day: a
line that would be delivered later (late, delayed or a next-day duplicate) is in flight, listed in
`_truth/in_flight.parquet` and counted in `_control` on its event day, and the truth of purchases, ESP addresses and
the contact policy is of what landed. `append_day` writes the next delivery day of a landing zone from its
`_truth/simulation.json`, the same bytes `simulate` with one day more writes for it (it generates the longer world
again and writes that day alone).
"""

import argparse
import json
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from simulator import addresses, contact_policy, dirt, truth, writer
from simulator import faults as sync_faults
from simulator.behaviour import Behaviour
from simulator.sources import SourceBuilder
from simulator.world import build_world

# Dirt rates (`--rate NAME=VALUE`): shares of lines (duplicate .. unknown_event_type), of people
# (recycled_phone, bot, test_account, the email kinds, and second_email / stale_email: a second address the CRM
# never learns / a CRM address change the ESP lags behind; at least one of each among people emailed, a stale one
# showing from day 2, so in worlds of three days or more), of POS sales (guest_email), and for shared_device ten times
# this share of multi-person households gets a family tablet.
DEFAULT_RATES = {
    "duplicate": 0.015,
    "late": 0.03,
    "malformed": 0.0005,
    "truncated": 0.0005,
    "missing_required": 0.0005,
    "unknown_field": 0.002,
    "unknown_event_type": 0.001,
    "shared_device": 0.01,
    "recycled_phone": 0.01,
    "guest_email": 0.04,
    "bot": 0.002,
    "test_account": 0.002,
    "role_email": 0.01,
    "disposable_email": 0.01,
    "typo_email": 0.01,
    "invalid_email": 0.005,
    "second_email": 0.03,
    "stale_email": 0.02,
}
EVENTS_PER_CUSTOMER_DAY = 2.16  # measured: 981k events from 32,467 customers over 14 days


def customers_for_events(n_events: int, days: int) -> int:
    """How many customers give about `n_events` events over `days` days."""
    return max(10, int(n_events / (EVENTS_PER_CUSTOMER_DAY * days)))


SIMULATION_FILE = "simulation.json"  # in `_truth/`: the parameters `append_day` extends the world with


class SimulationParametersError(ValueError):
    """A landing zone that holds no (or broken) simulation parameters: there is no world to extend."""


def simulate(
    out: Path,
    customers: int = 2000,
    days: int = 14,
    seed: int = 7,
    start: date = date(2026, 3, 1),
    faults: Sequence[str] = (),
    rates: Mapping[str, float] | None = None,
    gzip_share: float = 0.3,
    rows_per_file: int = writer.ROWS_PER_FILE,
    misfires: bool = True,
) -> dict:
    """Write a landing zone under `out` (replacing what a previous simulation wrote there); a source's day
    longer than `rows_per_file` lines is split into numbered files (the CRM's never is). `misfires`: the
    contact-policy breaches `Behaviour.misfires` injects; without them the campaigns follow consent and the caps,
    and a world's only breaches are those its calendars make. The first N delivery days are the same files
    whatever `days` is (N <= days): a longer world is this one and what happens next."""
    out = Path(out)
    unknown = set(rates or {}) - set(DEFAULT_RATES)
    if unknown:
        raise ValueError(f"unknown rates {sorted(unknown)}; known: {sorted(DEFAULT_RATES)}")
    rates = {**DEFAULT_RATES, **(rates or {})}
    if any(not 0 <= v <= 1 for v in rates.values()):
        raise ValueError(f"rates are shares between 0 and 1: {rates}")
    if customers < 1 or days < 1:
        raise ValueError("a world needs at least one customer and one day")
    if rows_per_file < 1:
        raise ValueError("rows_per_file must be at least 1")
    for spec in faults:
        sync_faults.Fault.parse(spec)
    params = {
        "customers": int(customers),
        "days": int(days),
        "seed": int(seed),
        "start": date.fromisoformat(str(start)[:10]).isoformat(),
        "faults": list(faults),
        "rates": dict(sorted(rates.items())),
        "gzip_share": float(gzip_share),
        "rows_per_file": int(rows_per_file),
        "misfires": bool(misfires),
    }
    for child in ("_control", "_truth", *sync_faults.SOURCES):
        shutil.rmtree(out / child, ignore_errors=True)
    return _run(out, params, only_day=None)


def append_day(out: Path) -> dict:
    """Write the next delivery day of the world simulated into `out` (its `_truth/simulation.json`): that day's
    files and `_control` totals, byte for byte those `simulate` with one day more writes, and the truth of the
    longer world. Raises `SimulationParametersError` naming the file when there are no parameters to read."""
    params = read_parameters(Path(out))
    params = {**params, "days": params["days"] + 1}
    next_day = (date.fromisoformat(params["start"]) + pd.Timedelta(days=params["days"] - 1)).isoformat()
    # The parameters are written last: an append cut short is done again in full by the next one.
    return _run(Path(out), params, only_day=next_day)


def read_parameters(out: Path) -> dict:
    """The parameters `simulate` wrote into `out/_truth/simulation.json`."""
    path = Path(out) / "_truth" / SIMULATION_FILE
    if not path.is_file():
        raise SimulationParametersError(f"{path} not found: {out} was not written by `omnichannel simulate`")
    try:
        params = json.loads(path.read_text())
        missing = sorted(set(PARAMETERS) - set(params))
    except (ValueError, TypeError):
        raise SimulationParametersError(f"{path} is not a simulation's parameters (not JSON)") from None
    if not isinstance(params, dict) or missing:
        raise SimulationParametersError(f"{path} lacks simulation parameters: {', '.join(missing) or 'all'}")
    try:
        days, customers, start = int(params["days"]), int(params["customers"]), date.fromisoformat(params["start"])
    except (TypeError, ValueError):
        raise SimulationParametersError(f"{path}: days, customers or start is not what `simulate` writes") from None
    if days < 1 or customers < 1 or not isinstance(params["rates"], dict):
        raise SimulationParametersError(f"{path}: days, customers or rates is not what `simulate` writes")
    return {**params, "days": days, "customers": customers, "start": start.isoformat()}


NONE = np.array([], dtype=object)  # no event id landed
PARAMETERS = ("customers", "days", "seed", "start", "faults", "rates", "gzip_share", "rows_per_file", "misfires")


def _run(out: Path, params: dict, only_day: str | None) -> dict:
    """Generate the world of `params` and write it (every delivery day, or `only_day` alone) with its truth."""
    customers, days, seed, rates = params["customers"], params["days"], params["seed"], params["rates"]
    parsed_faults = [sync_faults.Fault.parse(spec) for spec in params["faults"]]
    begin = pd.Timestamp(params["start"])
    # The people come from one stream that never sees the horizon; each day's behaviour from that day's streams.
    world = build_world(np.random.Generator(np.random.PCG64(seed)), customers, rates)
    behaviour = Behaviour(seed, world, begin, days, rates, misfires=params["misfires"])
    for channel in (
        behaviour.email,
        behaviour.sms,
        behaviour.push,
        behaviour.ads,
        behaviour.social,
        behaviour.organic_visits,
        behaviour.misfires,
    ):
        channel()
    behaviour.drop_future()
    builder = SourceBuilder(seed, world, behaviour)
    builder.outbound(rates, {f.day: f.value for f in parsed_faults if f.kind == "misaddress"})
    builder.online(behaviour.sessions(), bots=max(1, round(customers * rates["bot"])) if rates["bot"] > 0 else 0)
    builder.store(behaviour.store_sales(), rates["guest_email"])
    builder.crm()

    end_day = np.datetime64((begin + pd.Timedelta(days=days)).date().isoformat())
    manifest: list[dict] = []
    arrived: dict[str, np.ndarray] = {}  # per table, the event ids with an intact copy landed
    in_flight: list[pd.DataFrame] = []
    summary: dict = {"events": {}, "files": 0}
    for name in list(builder.lines):  # fixed order; each table's lines are freed once written
        lines = builder.lines.pop(name)
        source = writer.LAYOUT[name][0]
        lines = dirt.add_unknown_event_types(seed, name, lines, rates["unknown_event_type"])
        if name != "crm_consents":
            writer.write_control(out, source, writer.control_totals(name, lines), only_day)
        delivered, fault_rows = dirt.deliver(seed, name, source, lines, rates, parsed_faults)
        landed = (delivered["delivery_day"] < end_day).to_numpy()
        intact = delivered["kind"].isin([*writer.INTACT, "duplicate"]).to_numpy()
        arrived[name] = pd.unique(delivered.loc[landed & intact, "event_id"].to_numpy(dtype=object))
        metric = lines[["event_id", "metric"]].drop_duplicates("event_id")
        in_flight.append(
            delivered.loc[~landed, ["event_id", "kind", "event_day", "delivery_day"]]
            .merge(metric, on="event_id", how="left")
            .assign(source=source, table=name)
        )
        manifest += fault_rows + writer.write(
            out, name, delivered[landed], params["gzip_share"], params["rows_per_file"], only_day
        )
        summary["events"][name] = int(len(lines))
        del lines, delivered
    summary["files"] = sum(1 for _ in out.glob("*/*/*") if not _.parts[-3].startswith("_"))
    esp, esp_messages = _delivered_esp_truth(builder, arrived.get("email", NONE))
    ids = truth.identifiers(world, begin, days, behaviour.frames["ads"], builder.junk, builder.bots, esp)
    purchases = builder.purchases(arrived)
    purchases["person_id"] = world.people["person_id"].to_numpy()[purchases.pop("person").to_numpy()]
    # A second or stale address is a fault of the data once a message to it has landed.
    landed = set(zip(esp["kind"] + "_email", esp["email"]))
    landed |= {("misaddress", m) for m in esp_messages}
    esp_faults = [f for f in builder.esp.faults if "event_id" not in f or (f["kind"], f["event_id"]) in landed]
    identity_faults = _identity_faults(world, builder.bots, days) + esp_faults
    truth.write_truth(out, world, ids, purchases, manifest + identity_faults, builder.bots, behaviour.frames, esp)
    truth.write_engagement_truth(out, behaviour, purchases)
    truth.write_in_flight(out, in_flight)
    contact_policy.write(out / "_truth", world.people, _delivered_sends(builder.sent, arrived), builder.consents)
    (out / "_truth" / SIMULATION_FILE).write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    summary["faults"] = dict(sorted(Counter(f["kind"] for f in manifest + identity_faults).items()))
    summary["total_events"] = sum(summary["events"].values())
    summary["in_flight"] = int(sum(len(f) for f in in_flight))
    return summary


def _delivered_sends(sent: dict[str, pd.DataFrame], arrived: dict[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    """The sends whose lines the landing zone holds: the contact-policy truth is of what the pipeline can see."""
    push = sent["push"]
    push_ids = push["notification_id"] + "|" + push["player_id"] + "|" + push["event"]
    return {
        "email": sent["email"][dirt.among(sent["email"]["sg_event_id"], arrived.get("email", NONE))],
        "sms": sent["sms"][dirt.among(sent["sms"]["sid"], arrived.get("sms", NONE))],
        "push": push[dirt.among(push_ids, arrived.get("push", NONE))],
    }


def _delivered_esp_truth(builder: SourceBuilder, arrived_email: np.ndarray) -> tuple[pd.DataFrame, set]:
    """The ESP's addresses per person, kind and day, of the messages whose `processed` line has landed (and
    those messages' ids)."""
    e = builder.sent["email"]
    landed = e.loc[
        (e["event"] == "processed").to_numpy() & dirt.among(e["sg_event_id"], arrived_email), "sg_message_id"
    ]
    messages = builder.esp.messages
    landed = landed.to_numpy(dtype=object)
    return addresses.esp_truth(messages[dirt.among(messages["sg_message_id"], landed)]), set(landed)


def _identity_faults(world, bots: pd.DataFrame, days: int) -> list[dict]:
    """Per-entity rows for identity dirt (guest emails are listed per POS line by the writer)."""
    shared = world.devices[world.devices["shared"]]
    rows = [
        {"kind": "shared_device", "source": "app", "event_id": d, "detail": f"used by {p}"}
        for d, p in zip(shared["device_id"], shared["person_id"])
    ]
    rows += [
        {
            "kind": "recycled_phone",
            "source": "crm",
            "event_id": r.phone_e164,
            "detail": f"{r.old_person_id} until day {r.switch_day}, then {r.new_person_id}",
        }
        for r in world.recycled.itertuples()
        if r.switch_day < days  # the number has changed hands by the last day
    ]
    tests = world.people[world.people["is_test_account"]]
    rows += [
        {"kind": "test_account", "source": "crm", "event_id": e, "detail": p}
        for e, p in zip(tests["email"], tests["person_id"])
    ]
    per_bot = bots.groupby("person_id", sort=True).agg(cookies=("anonymous_id", "size"), agent=("user_agent", "first"))
    rows += [
        {"kind": "bot", "source": "web", "event_id": b, "detail": f"{n} cookies, user agent {a}"}
        for b, n, a in zip(per_bot.index, per_bot["cookies"], per_bot["agent"])
    ]
    return rows


# Option types: argparse turns their ArgumentTypeError into a usage error naming the option.
def _at_least(lowest: int):
    def whole_number(text: str) -> int:
        try:
            return _checked(int(text), lambda v: v >= lowest)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {lowest}, got {text!r}") from None

    return whole_number


def _day(text: str) -> date:
    try:  # fromisoformat also takes 20260301 and 2026-W10-1: only YYYY-MM-DD is a day here
        return _checked(date.fromisoformat(text), lambda _: len(text) == 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: expected YYYY-MM-DD") from None


def _share(text: str) -> float:
    try:
        return _checked(float(text), lambda v: 0 <= v <= 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}") from None


def _checked(value, ok):
    if not ok(value):
        raise ValueError(value)
    return value


def _fault(spec: str) -> str:
    try:
        sync_faults.Fault.parse(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


def _rate(item: str) -> str:
    name, sep, value = item.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"bad --rate {item!r}: expected NAME=VALUE")
    if name.strip() not in DEFAULT_RATES:
        raise argparse.ArgumentTypeError(
            f"bad --rate {item!r}: unknown rate {name.strip()!r}; known: {', '.join(DEFAULT_RATES)}"
        )
    try:
        _share(value)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"bad --rate {item!r}: {exc}") from None
    return item


def _landing_out(text: str) -> Path:
    """Where to write: a new or empty folder, or one an earlier simulation wrote (its source folders are replaced)."""
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "_truth").is_dir() and not (out / "_control").is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is not empty and holds no earlier simulation; "
            "the simulator replaces the source folders it writes: choose an empty folder"
        )
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=_landing_out,
        required=True,
        help="landing zone to write (a new or empty folder, or an earlier simulation's)",
    )
    parser.add_argument("--customers", type=_at_least(1), default=2000)
    parser.add_argument("--days", type=_at_least(1), default=14)
    parser.add_argument("--seed", type=_at_least(0), default=7)
    parser.add_argument("--start", type=_day, default=date(2026, 3, 1), help="first day (YYYY-MM-DD)")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        type=_fault,
        help="drop:<source>:<day>:<fraction>, delay:<source>:<day>:<days> or "
        "misaddress:email:<day>:<fraction>; repeatable; "
        f"sources: {', '.join(sync_faults.SOURCES)}",
    )
    parser.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=_rate,
        help=f"override a dirt rate; names: {', '.join(DEFAULT_RATES)}",
    )
    parser.add_argument("--gzip-share", type=_share, default=0.3, help="share of files written gzipped")
    parser.add_argument(
        "--append-day",
        action="store_true",
        help="extend the world already in --out by its next delivery day (the other options are read from its "
        f"_truth/{SIMULATION_FILE})",
    )
    parser.add_argument(
        "--no-misfires",
        dest="misfires",
        action="store_false",
        help="send no contact-policy breaches on purpose (stale-list sends after opt-outs, a night text, a burst)",
    )


def run_from_args(args: argparse.Namespace) -> int:
    """Run `simulate` (or `append_day`) with parsed `add_arguments` options and print its summary as JSON."""
    if getattr(args, "append_day", False):
        print(json.dumps(append_day(args.out), indent=2))
        return 0
    rates = {}
    for item in args.rate or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"bad --rate {item!r}: expected NAME=VALUE")
        rates[name.strip()] = float(value)
    summary = simulate(
        args.out,
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        start=args.start,
        faults=args.fault or [],
        rates=rates,
        gzip_share=getattr(args, "gzip_share", 0.3),
        misfires=getattr(args, "misfires", True),
    )
    print(json.dumps(summary, indent=2))
    return 0
