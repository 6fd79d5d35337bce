"""Ingestion on files with every kind of dirt at once, loaded in any order: each line loaded, a duplicate or
quarantined with its reason, on its true file and line, the ingest log reconciling; the same tables whatever order
the days are (re)loaded in."""

import gzip
import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.loader import LOAD_CHECKPOINT_MIB, load_partition
from orchestration.ingestion.sources import RAW_TABLES

WEB = next(t for t in RAW_TABLES if t.table == "web")
PUSH = next(t for t in RAW_TABLES if t.table == "push")
LOADED_AT = datetime(2026, 3, 16, 6, 0)
MAX_LINE_BYTES = 200
DAY1, DAY2 = "2026-03-14", "2026-03-15"


def _event(n: int, **fields) -> str:
    return json.dumps(
        {"messageId": f"m{n}", "type": "track", "anonymousId": f"a{n}", "timestamp": "2026-03-14T10:00:00Z", **fields}
    )


# A record typed by hand: its spacing and number format are the sender's, and the raw record keeps them.
HAND_TYPED = '{ "messageId" : "m4",  "type":"page", "anonymousId":"a4", "timestamp":"t", "brand_new":{"x":[1, 2.50]} }'


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    day1, day2 = root / "web" / DAY1, root / "web" / DAY2
    day1.mkdir(parents=True)
    day2.mkdir(parents=True)
    lines = [
        "\ufeff" + _event(1),  # a byte-order mark before the first line
        _event(2),
        _event(1),  # the same event again, in the same file
        "",
        "   ",
        _event(3)[:-1],  # cut short
        HAND_TYPED,
        _event(5, traits={"email": ["x@y.com"]}),  # an identifier that is a list
        "[1, 2]",
        _event(6, type=""),
        "x" * (MAX_LINE_BYTES + 100),
        _event(7, traits={"email": "Jane@Example.com", "phone": "+1 415 555 0132"}),
    ]
    (day1 / "a.jsonl").write_bytes(("\r\n".join(lines) + "\r\n").encode())  # Windows line ends
    # A latin-1 byte, a copy of an event of a.jsonl, no newline at the end of the file.
    (day1 / "b.jsonl").write_bytes(
        f"{_event(8)}\n".encode() + b'{"messageId": "m9", "caf\xe9": 1}\n' + f"{_event(2)}\n{_event(10)}".encode()
    )
    with gzip.open(day2 / "c.jsonl.gz", "wt") as f:
        f.write(f"{_event(2)}\n{_event(11)}\n{_event(8)}\n")
    push = root / "push" / DAY1
    push.mkdir(parents=True)
    (push / "p.csv").write_bytes(
        b"notification_id,player_id,event,event_time,external_user_id\r\n"
        b'n1,p1,sent,2026-03-14T10:00:00Z,"C1"\r\n'
        b"n1,p1,sent,2026-03-14T10:00:00Z,C1\r\n"
        b"n2,p2,sent\r\n"
        b'n3,p3,"open\r\nx",2026-03-14T10:00:00Z,\r\n'
        b",p4,sent,2026-03-14T10:00:00Z,\r\n"
    )
    return root


def _load(con, landing: Path, order: list[tuple]) -> None:
    for table, day in order:
        load_partition(con, table, landing, day, LOADED_AT, MAX_LINE_BYTES)


def _tables(con) -> dict[str, list[tuple]]:
    return {
        name: con.execute(f"select * exclude (_loaded_at) from raw.{name} order by all").fetchall()
        for name in ("web", "push", "quarantine", "ingest_log")
    }


def test_every_kind_of_dirt_lands_on_its_line_with_its_reason(landing):
    con = duckdb.connect()
    _load(con, landing, [(WEB, DAY2), (WEB, DAY1), (PUSH, DAY1)])
    web = con.execute(
        "select _event_id, _is_duplicate, _file, _line, _delivery_date::varchar from raw.web order by all"
    ).fetchall()
    a, b, c = (f"web/{DAY1}/a.jsonl", f"web/{DAY1}/b.jsonl", f"web/{DAY2}/c.jsonl.gz")
    assert web == [
        ("m1", False, a, 1, DAY1),
        ("m1", True, a, 3, DAY1),
        ("m10", False, b, 4, DAY1),
        ("m11", False, c, 2, DAY2),
        ("m2", False, a, 2, DAY1),
        ("m2", True, b, 3, DAY1),
        ("m2", True, c, 1, DAY2),  # loaded first, then no longer the first copy once the earlier day came
        ("m4", False, a, 7, DAY1),
        ("m7", False, a, 12, DAY1),
        ("m8", False, b, 1, DAY1),
        ("m8", True, c, 3, DAY2),
    ]
    assert con.execute("select record::varchar from raw.web where _event_id = 'm4'").fetchall() == [(HAND_TYPED,)]
    quarantine = con.execute("select _file, _line, reason from raw.quarantine order by all").fetchall()
    assert quarantine == [
        (f"push/{DAY1}/p.csv", 4, "malformed CSV row: MISSING COLUMNS: expected 5 fields, found 3"),
        (f"push/{DAY1}/p.csv", 5, "multi-line CSV record (lines 5-6): a quoted field holds a line break"),
        (f"push/{DAY1}/p.csv", 6, "multi-line CSV record (lines 5-6): a quoted field holds a line break"),
        (f"push/{DAY1}/p.csv", 7, "missing required field notification_id"),
        (a, 4, "empty line"),
        (a, 5, "empty line"),
        (a, 6, "invalid JSON (malformed or truncated line)"),
        (a, 8, "non-scalar identifier field traits.email"),
        (a, 9, "not a JSON object"),
        (a, 10, "missing required field type"),
        (a, 11, f"line longer than {MAX_LINE_BYTES} bytes"),
        (b, 2, "invalid UTF-8"),
    ]
    # Quarantined lines keep their text (an oversize one excepted); loaded ones are their record.
    kept = dict(con.execute("select _line, raw_line from raw.quarantine where _file = ?", [a]).fetchall())
    assert kept[6] == _event(3)[:-1] and kept[9] == "[1, 2]" and kept[11] is None
    log = con.execute(
        "select table_name, _delivery_date::varchar, files, lines_read, rows_loaded, duplicates, quarantined "
        "from raw.ingest_log order by all"
    ).fetchall()
    assert log == [("push", DAY1, 1, 6, 1, 1, 4), ("web", DAY1, 2, 16, 6, 2, 8), ("web", DAY2, 1, 3, 1, 2, 0)]
    assert all(lines == loaded + duplicates + quarantined for *_, lines, loaded, duplicates, quarantined in log)


def test_any_load_order_and_any_reload_leave_the_same_tables(landing):
    in_order, out_of_order = duckdb.connect(), duckdb.connect()
    _load(in_order, landing, [(WEB, DAY1), (WEB, DAY2), (PUSH, DAY1)])
    _load(out_of_order, landing, [(PUSH, DAY1), (WEB, DAY2), (WEB, DAY1), (WEB, DAY2), (PUSH, DAY1), (WEB, DAY1)])
    assert _tables(out_of_order) == _tables(in_order)
    # A day's files changing moves first copies on the other day: its counts follow.
    (landing / "web" / DAY1 / "b.jsonl").unlink()
    for con in (in_order, out_of_order):
        load_partition(con, WEB, landing, DAY1, LOADED_AT, MAX_LINE_BYTES)
    log = in_order.execute(
        "select _delivery_date::varchar, rows_loaded, duplicates from raw.ingest_log where table_name = 'web' order by 1"
    ).fetchall()
    assert log == [(DAY1, 4, 1), (DAY2, 2, 1)]  # m8 is a first copy on the later day now, m2 still is not
    assert _tables(out_of_order) == _tables(in_order)


def test_loading_raises_the_checkpoint_threshold_but_never_lowers_it(landing, tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_partition(con, WEB, landing, DAY2, LOADED_AT, MAX_LINE_BYTES)
    assert con.execute("select current_setting('checkpoint_threshold')").fetchall() == [
        (f"{LOAD_CHECKPOINT_MIB}.0 MiB",)
    ]
    con.execute("set checkpoint_threshold = '2GiB'")
    load_partition(con, WEB, landing, DAY2, LOADED_AT, MAX_LINE_BYTES)
    assert con.execute("select current_setting('checkpoint_threshold')").fetchall() == [("2.0 GiB",)]
