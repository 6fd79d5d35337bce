"""Incremental runs equal a full rebuild. A world delivered a few days at a time through `omnichannel run`'s path
(each run loads only the new or changed days, and the staging models restage only the delivery days whose raw rows
changed) ends with the same staging, intermediate and mart tables as the same warehouse rebuilt with
`--full-refresh`: late and duplicate events (the simulator's), a late record that merges two customers, a day
delivered again with a copy of an event another day already holds (the first copy moves days), and a `forget` in
the middle."""

import gzip
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from conftest import omnichannel_cli, progress, run_pipeline_at

from orchestration.ingestion.landing import delivery_day_paths
from orchestration.settings import PROJECT_ROOT

WORLD = dict(customers=150, days=5, seed=23)
MERGE_ID = "ajs-incremental-merge"
# What differs by construction between the two: when rows were loaded, and when a move was recorded.
EDITED_IP = "203.0.113.77"
MAILBOX_PROVIDERS = tuple(
    f"@{d}" for d in ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com")
)
RUN_STAMPS = {"loaded_at", "_loaded_at", "changed_at"}


def _comparison():
    spec = importlib.util.spec_from_file_location("compare_warehouses", PROJECT_ROOT / "scripts/compare_warehouses.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return handle.read().splitlines()


def _deliver(source: Path, target: Path, days: list[str]) -> None:
    """Copy these delivery days' folders and control totals from the simulated landing zone into the served one."""
    for day in days:
        for path in delivery_day_paths(source, day):
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                shutil.copytree(path, destination, dirs_exist_ok=True)
            else:
                shutil.copyfile(path, destination)


def _parsed(line: str, key: str = "timestamp", *, timestamp: type | tuple[type, ...] = str) -> dict | None:
    """The line's event, or None for the simulator's malformed and truncated lines: those not a JSON object, with
    no `timestamp` of this type (Segment's are ISO strings, SendGrid's Unix seconds), or with no `key`."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("timestamp"), timestamp):
        return None
    return event if event.get(key) else None


def _web_events(landing: Path, day: str) -> list[tuple[str, dict]]:
    """Every well-formed web line of the day, as written and parsed."""
    lines = [line for path in sorted((landing / "web" / day).iterdir()) for line in _lines(path)]
    return [(line, event) for line in lines if (event := _parsed(line)) is not None]


def _add_merging_record(landing: Path, days: list[str]) -> tuple[dict, dict]:
    """A Segment identify of the second day, delivered on the last: one person's email with another's CRM id (two
    strong identifiers in one record merge their customers). The web source's totals for its event day count it,
    as a source that counts by event time does."""
    # Plain mailbox providers: a disposable or role address is junk and would bridge no one.
    identifies = [
        e
        for day in days[:2]
        for _, e in _web_events(landing, day)
        if e["type"] == "identify"
        and e.get("userId")
        and ((e.get("traits") or {}).get("email") or "").strip().lower().endswith(MAILBOX_PROVIDERS)
    ]
    first = identifies[0]
    second = next(e for e in identifies if e["userId"] != first["userId"])
    event_day = days[1]
    record = {
        **first,
        "messageId": MERGE_ID,
        "anonymousId": "anon-incremental-merge",
        "userId": second["userId"],
        "timestamp": f"{event_day}T09:00:00.000Z",
        "sentAt": f"{event_day}T09:00:00.000Z",
        "receivedAt": f"{event_day}T09:00:01.000Z",
    }
    (landing / "web" / days[-1] / f"segment-web-{days[-1]}-9.jsonl").write_text(json.dumps(record) + "\n")
    totals_path = landing / "_control" / "web" / f"{event_day}.json"
    totals = json.loads(totals_path.read_text())
    totals["counts"]["identify"] += 1
    totals_path.write_text(json.dumps(totals))
    return first, second


def _late_line_of(landing: Path, day: str, on_or_before: str) -> str:
    """A line delivered on `day` whose event happened on or before `on_or_before` (a late arrival), as written."""
    for line, event in _web_events(landing, day):
        if event["timestamp"][:10] <= on_or_before:
            return line
    raise AssertionError(f"no late web event on {day}")


def _edit_an_email_event(landing: Path, day: str, spared: str) -> str:
    """Rewrite the day's first email file with the `ip` of its first well-formed event changed (one not mailed to
    the forgotten address, whose lines no longer load); returns its event id."""
    path = sorted((landing / "email" / day).iterdir())[0]
    lines = _lines(path)
    for number, line in enumerate(lines):
        event = _parsed(line, "sg_event_id", timestamp=(int, float, str))
        if event is not None and spared.split("@")[0] not in str(event.get("email", "")).lower():
            lines[number] = json.dumps({**event, "ip": EDITED_IP})
            break
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return event["sg_event_id"]


def _person_to_forget(database: Path, spared_crm_ids: set[str]) -> str:
    """An email whose customer holds no identifier anyone else shares, nor one of these CRM ids (the people the
    merging record joins: erasing one would suppress the record itself)."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            """select e.identifier_value from marts.customer_identifier e
               where e.identifier_type = 'email'
                 and not exists (select 1 from marts.customer_identifier spared
                                 where spared.customer_id = e.customer_id and spared.identifier_type = 'crm_id'
                                   and list_contains(?, spared.identifier_value))
                 and not exists (select 1 from marts.customer_identifier mine
                                 join marts.customer_identifier other using (identifier_type, identifier_value)
                                 where mine.customer_id = e.customer_id
                                   and (other.customer_id <> mine.customer_id or mine.is_shared))
               order by e.identifier_value limit 1""",
            [sorted(spared_crm_ids)],
        ).fetchall()[0][0]


def _forget(root: Path, email: str) -> subprocess.CompletedProcess:
    return omnichannel_cli("forget", "--email", email, "--yes", root=root)


@pytest.fixture(scope="module")
def grown(tmp_path_factory) -> dict:
    """The world delivered in steps (three days, a forget, the rest with changes), and a copy rebuilt in full."""
    import simulator

    simulated = tmp_path_factory.mktemp("incremental_simulated") / "landing"
    simulator.simulate(simulated, **WORLD)
    days = sorted(p.name for p in (simulated / "web").iterdir())
    first, second = _add_merging_record(simulated, days)

    root = tmp_path_factory.mktemp("incremental")
    landing = root / "landing"
    progress("[incremental] delivering day by day")
    _deliver(simulated, landing, days[:3])
    runs = [run_pipeline_at(root, "incremental 1")]
    email = _person_to_forget(root / "warehouse.duckdb", {first["userId"], second["userId"]})
    forgotten = _forget(root, email)
    assert forgotten.returncode == 0, forgotten.stdout + forgotten.stderr
    # The rest, and the second day delivered again with a copy of a late event the third day holds: the copy on
    # the second day is now the first one, so the third day's turns duplicate while that day is not loaded again.
    _deliver(simulated, landing, days[3:])
    moved = _late_line_of(landing, days[2], on_or_before=days[1])
    (landing / "web" / days[1] / f"segment-web-{days[1]}-8.jsonl").write_text(moved + "\n")
    # And the first day's email file delivered again with one event's content corrected in place: the same event
    # id on the same line, other content.
    edited = _edit_an_email_event(landing, days[0], spared=email)
    with_changes = run_pipeline_at(root, "incremental 2")
    runs.append(with_changes)

    rebuilt = tmp_path_factory.mktemp("incremental_rebuilt")
    shutil.copytree(root, rebuilt, symlinks=True, dirs_exist_ok=True)
    full = run_pipeline_at(rebuilt, "full refresh", full_refresh=True)
    return dict(
        root=root,
        rebuilt=rebuilt,
        runs=runs,
        full=full,
        days=days,
        forgotten=email,
        merged=(first, second),
        moved_event=json.loads(moved)["messageId"],
        edited_event=edited,
    )


def _query(database: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def test_every_table_of_the_incremental_world_equals_the_full_rebuild(grown):
    problems = _comparison().compare(
        str(grown["root"] / "warehouse.duckdb"),
        str(grown["rebuilt"] / "warehouse.duckdb"),
        ["staging", "intermediate", "marts"],
        RUN_STAMPS,
        digits=9,  # parallel sums of doubles differ in their last bits with the order rows are read in
    )
    assert problems == []


def test_the_last_run_restaged_only_the_days_that_changed(grown):
    """The last incremental run loaded the first two days again (their files changed) and the new days; it staged
    those, and the third day of web only, whose copy of the moved event turned duplicate though the day was not
    loaded again. dbt says so in its log."""
    days = grown["days"]
    # dagster-dbt gives each run's dbt its own target folder, named after the run.
    run_id = grown["runs"][-1]["transform"]
    (log,) = (grown["root"] / "warehouse.duckdb.dbt").glob(f"dbt_models-{run_id[:7]}-*/dbt.log")
    said = {
        model: day_list.split(", ")
        for model, day_list in re.findall(r"(stg_\w+): restaging \d+ delivery day\(s\): ([0-9, -]+)", log.read_text())
    }
    assert said["stg_web__events"] == days
    assert said["stg_email__events"] == [*days[:2], *days[3:]]


def test_the_late_record_merged_two_customers_and_the_history_says_so(grown):
    database = grown["root"] / "warehouse.duckdb"
    staged = _query(
        database,
        "select email, user_id, delivery_date > event_date from staging.stg_web__events where event_id = ?",
        [MERGE_ID],
    )
    assert len(staged) == 1 and staged[0][2], staged  # delivered after the day it happened
    email, crm_id, _ = staged[0]
    owners = _query(
        database,
        """select distinct customer_id from marts.customer_identifier
           where (identifier_type = 'email' and identifier_value = ?) or (identifier_type = 'crm_id' and identifier_value = ?)""",
        [email, crm_id],
    )
    assert len(owners) == 1, owners
    moves = _query(database, "select old_customer_id, new_customer_id, change_type from marts.customer_id_history")
    assert (owners[0][0], "merged") in {(new, kind) for _, new, kind in moves}, moves


def test_the_event_whose_first_copy_moved_is_staged_once_on_its_new_day(grown):
    database = grown["root"] / "warehouse.duckdb"
    assert _query(
        database,
        "select delivery_date::varchar from staging.stg_web__events where event_id = ?",
        [grown["moved_event"]],
    ) == [(grown["days"][1],)]


def test_an_event_corrected_in_place_is_staged_as_corrected(grown):
    assert _query(
        grown["root"] / "warehouse.duckdb",
        "select ip from staging.stg_email__events where event_id = ?",
        [grown["edited_event"]],
    ) == [(EDITED_IP,)]


def test_the_forgotten_person_stays_out_of_every_later_run(grown):
    for database in (grown["root"] / "warehouse.duckdb", grown["rebuilt"] / "warehouse.duckdb"):
        assert _query(
            database,
            "select count(*) from marts.customer_identifier where identifier_value = ?",
            [grown["forgotten"]],
        ) == [(0,)]
