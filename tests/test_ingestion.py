"""Ingestion on hand-made landing files: quarantine reasons, duplicate flags, reconciliation, atomic re-runs."""

import gzip
import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion import loader
from orchestration.ingestion.control import load_control_day
from orchestration.ingestion.loader import LandingFileError, load_days, load_partition
from orchestration.ingestion.phones import normalize_new_phones, to_e164
from orchestration.ingestion.sources import RAW_TABLES

TABLES = {t.table: t for t in RAW_TABLES}
LOADED_AT = datetime(2026, 3, 10, 12, 0)


def _email(event_id, event="open", **extra):
    return json.dumps(
        {"sg_event_id": event_id, "email": "Jane@Example.com", "timestamp": 1773483721, "event": event, **extra}
    )


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    day1, day2 = root / "email" / "2026-03-14", root / "email" / "2026-03-15"
    day1.mkdir(parents=True)
    day2.mkdir(parents=True)
    (day1 / "a.jsonl").write_text(
        "\n".join(
            [
                _email("e1"),
                _email("e2", "click"),
                _email("e1"),  # at-least-once delivery: same event again
                "",  # a blank line
                json.dumps({"sg_event_id": "e3", "email": "x@y.com", "timestamp": 1}),  # no `event`
                '{"sg_event_id": "e4", "email": "x@y.c',  # export cut short mid-line
            ]
        )
        + "\n"
    )
    with gzip.open(day2 / "b.jsonl.gz", "wt") as f:
        f.write(_email("e2", "click") + "\n" + _email("e5", "open", brand_new_field=1) + "\n")
    pos = root / "pos" / "2026-03-14"
    pos.mkdir(parents=True)
    (pos / "z.csv").write_text(
        "store_id,receipt_id,local_time,store_tz,loyalty_id,email,phone,total_cents,currency,type,original_receipt_id\n"
        "S01,R1,2026-03-14 09:15:00,America/New_York,L1,,415-555-0132,5990,USD,sale,\n"
        "S01,R2,2026-03-14 09:20:00\n"
        "S01,,2026-03-14 09:25:00,America/New_York,,,,100,USD,sale,\n"
        'S02,R3,2026-03-14 10:00:00,America/Chicago,,"a,b@c.com",,100,USD,sale,\n'
    )
    control = root / "_control" / "email"
    control.mkdir(parents=True)
    (control / "2026-03-14.json").write_text(
        json.dumps({"source": "email", "date": "2026-03-14", "counts": {"open": 2, "click": 1}, "sums": {}})
    )
    return root


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def _table(con, sql):
    return con.execute(sql).fetchall()


def test_every_line_is_loaded_flagged_or_quarantined(con, landing):
    stats = load_partition(con, TABLES["email"], landing, "2026-03-14", LOADED_AT)
    assert (stats.lines_read, stats.rows_loaded, stats.duplicates, stats.quarantined) == (6, 2, 1, 3)
    assert stats.lines_read == stats.rows_loaded + stats.duplicates + stats.quarantined
    quarantined = _table(con, "select _file, _line, reason from raw.quarantine order by _line")
    assert quarantined == [
        ("email/2026-03-14/a.jsonl", 4, "empty line"),
        ("email/2026-03-14/a.jsonl", 5, "missing required field event"),
        ("email/2026-03-14/a.jsonl", 6, "invalid JSON (malformed or truncated line)"),
    ]
    raw_line = _table(con, "select raw_line from raw.quarantine where _line = 6")[0][0]
    assert raw_line == '{"sg_event_id": "e4", "email": "x@y.c'


def test_duplicates_across_days_keep_the_first_copy_whatever_the_load_order(con, landing):
    # The later day first: its copy of e2 is the first seen, until the earlier day arrives.
    later = load_partition(con, TABLES["email"], landing, "2026-03-15", LOADED_AT)
    assert (later.rows_loaded, later.duplicates) == (2, 0)
    load_partition(con, TABLES["email"], landing, "2026-03-14", LOADED_AT)
    flags = _table(con, "select _event_id, _delivery_date::varchar, _line, _is_duplicate from raw.email order by all")
    assert flags == [
        ("e1", "2026-03-14", 1, False),
        ("e1", "2026-03-14", 3, True),
        ("e2", "2026-03-14", 2, False),
        ("e2", "2026-03-15", 1, True),
        ("e5", "2026-03-15", 2, False),
    ]
    log = _table(
        con,
        "select _delivery_date::varchar, lines_read, rows_loaded, duplicates, quarantined "
        "from raw.ingest_log order by 1",
    )
    assert log == [("2026-03-14", 6, 2, 1, 3), ("2026-03-15", 2, 1, 1, 0)]
    unknown_field = _table(con, "select record->>'$.brand_new_field' from raw.email where _event_id = 'e5'")
    assert unknown_field == [("1",)]


def test_rerunning_a_partition_leaves_identical_tables(con, landing):
    def snapshot():
        return {
            name: _table(con, f"select * exclude (_loaded_at) from raw.{name} order by all")
            for name in ("email", "quarantine", "ingest_log")
        }

    for day in ("2026-03-14", "2026-03-15"):
        load_partition(con, TABLES["email"], landing, day, LOADED_AT)
    before = snapshot()
    load_partition(con, TABLES["email"], landing, "2026-03-14", datetime(2026, 3, 11))
    load_partition(con, TABLES["email"], landing, "2026-03-15", datetime(2026, 3, 11))
    assert snapshot() == before


def test_csv_rows_keep_their_line_numbers_and_bad_rows_are_quarantined(con, landing):
    stats = load_partition(con, TABLES["pos"], landing, "2026-03-14", LOADED_AT)
    assert (stats.lines_read, stats.rows_loaded, stats.quarantined) == (4, 2, 2)
    rows = _table(con, "select _line, _event_id, record->>'$.email' from raw.pos order by _line")
    assert rows == [(2, "R1", None), (5, "R3", "a,b@c.com")]
    reasons = dict(_table(con, "select _line, reason from raw.quarantine"))
    assert reasons[3].startswith("malformed CSV row: MISSING COLUMNS")
    assert reasons[4] == "missing required field receipt_id"


def test_a_failing_file_leaves_the_previous_partition_untouched(con, landing):
    load_partition(con, TABLES["email"], landing, "2026-03-15", LOADED_AT)
    before = _table(con, "select * from raw.email order by all")
    (landing / "email" / "2026-03-15" / "c.jsonl.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(LandingFileError, match="c.jsonl.gz"):
        load_partition(con, TABLES["email"], landing, "2026-03-15", datetime(2026, 3, 12))
    assert _table(con, "select * from raw.email order by all") == before


def _raw_snapshot(con):
    return {
        name: _table(con, f"select * exclude (_loaded_at) from raw.{name} order by all")
        for name in ("email", "quarantine", "ingest_log", "landing_fingerprints")
    }


def test_a_range_loaded_in_one_pass_equals_its_days_loaded_one_by_one(tmp_path, landing):
    # Three days, one of them with no files at all, and e2 on two days: the flags, the quarantine and every
    # day's counts must be those of loading the days one after the other, in either order.
    days = ["2026-03-13", "2026-03-14", "2026-03-15"]
    by_day = duckdb.connect(str(tmp_path / "by_day.duckdb"))
    for day in reversed(days):
        load_partition(by_day, TABLES["email"], landing, day, LOADED_AT)
    in_one = duckdb.connect(str(tmp_path / "in_one.duckdb"))
    stats = load_days(in_one, TABLES["email"], landing, days, LOADED_AT)
    assert list(stats) == days
    assert [(s.files, s.lines_read, s.rows_loaded, s.duplicates, s.quarantined) for s in stats.values()] == [
        (0, 0, 0, 0, 0),
        (1, 6, 2, 1, 3),
        (1, 2, 1, 1, 0),
    ]
    assert _raw_snapshot(in_one) == _raw_snapshot(by_day)
    # Reloading one day of the range, then the range again, changes nothing.
    before = _raw_snapshot(in_one)
    load_partition(in_one, TABLES["email"], landing, "2026-03-15", datetime(2026, 3, 11))
    load_days(in_one, TABLES["email"], landing, days, datetime(2026, 3, 12))
    assert _raw_snapshot(in_one) == before


def test_the_one_statement_read_of_a_range_classifies_every_line_as_file_by_file_does(tmp_path, landing, monkeypatch):
    # Several files a day, gzip and plain, blank, cut-short and duplicate lines: the one-statement path must give
    # every line the file, line number, day and outcome the file-by-file path gives it.
    (landing / "email" / "2026-03-14" / "b.jsonl").write_text(_email("e7") + "\n\n" + _email("e1") + "\n{\n")
    with gzip.open(landing / "email" / "2026-03-15" / "a.jsonl.gz", "wt") as f:
        f.write(_email("e8") + "\n" + _email("e2", "click") + "\n")
    days = ["2026-03-14", "2026-03-15"]
    calls = []
    real = loader.classify_jsonl_files
    monkeypatch.setattr(loader, "classify_jsonl_files", lambda *a: calls.append(real(*a)) or calls[-1])
    fast = duckdb.connect(str(tmp_path / "fast.duckdb"))
    load_days(fast, TABLES["email"], landing, days, LOADED_AT)
    assert calls == [True]
    monkeypatch.setattr(loader, "classify_jsonl_files", lambda *a: False)
    by_file = duckdb.connect(str(tmp_path / "by_file.duckdb"))
    load_days(by_file, TABLES["email"], landing, days, LOADED_AT)
    assert _raw_snapshot(fast) == _raw_snapshot(by_file)
    lines = _table(fast, "select _file, count(*), max(_line) from raw.quarantine group by 1 order by 1")
    assert lines == [("email/2026-03-14/a.jsonl", 3, 6), ("email/2026-03-14/b.jsonl", 2, 4)]


def test_a_range_with_a_line_that_is_not_text_falls_back_to_file_by_file(con, landing):
    # Invalid UTF-8 on line 2 of one file: the one-statement read refuses the range, file by file numbers it.
    (landing / "email" / "2026-03-15" / "c.jsonl").write_bytes(
        _email("e6").encode() + b"\n\xff\xfe\n" + _email("e9").encode()
    )
    stats = load_days(con, TABLES["email"], landing, ["2026-03-14", "2026-03-15"], LOADED_AT)
    assert (stats["2026-03-15"].lines_read, stats["2026-03-15"].quarantined) == (5, 1)
    assert _table(con, "select _file, _line, reason from raw.quarantine where _delivery_date = '2026-03-15'") == [
        ("email/2026-03-15/c.jsonl", 2, "invalid UTF-8")
    ]
    assert _table(con, "select _line from raw.email where _event_id = 'e9'") == [(3,)]


def test_a_range_reload_reranks_copies_on_days_outside_it(con, landing):
    # e2 is on the 14th and, as a duplicate, on the 15th. The 14th is re-delivered without it: loading a range
    # that holds the 14th but not the 15th must make the 15th's copy the first, and count the 15th again.
    load_days(con, TABLES["email"], landing, ["2026-03-14", "2026-03-15"], LOADED_AT)
    assert _table(con, "select duplicates from raw.ingest_log where _delivery_date = '2026-03-15'") == [(1,)]
    (landing / "email" / "2026-03-14" / "a.jsonl").write_text(_email("e1") + "\n")
    load_days(con, TABLES["email"], landing, ["2026-03-13", "2026-03-14"], LOADED_AT)
    flags = _table(con, "select _event_id, _delivery_date::varchar, _is_duplicate from raw.email order by all")
    assert flags == [("e1", "2026-03-14", False), ("e2", "2026-03-15", False), ("e5", "2026-03-15", False)]
    log = _table(con, "select _delivery_date::varchar, rows_loaded, duplicates from raw.ingest_log order by 1")
    assert log == [("2026-03-13", 0, 0), ("2026-03-14", 1, 0), ("2026-03-15", 2, 0)]


def test_a_failing_file_in_a_range_leaves_every_day_of_it_untouched(con, landing):
    days = ["2026-03-14", "2026-03-15"]
    load_days(con, TABLES["email"], landing, days, LOADED_AT)
    before = _raw_snapshot(con)
    (landing / "email" / "2026-03-14" / "a.jsonl").write_text(_email("e9") + "\n")  # a good change to one day
    (landing / "email" / "2026-03-15" / "c.jsonl.gz").write_bytes(b"\x1f\x8b not really gzip")  # and a bad file
    with pytest.raises(LandingFileError, match="c.jsonl.gz"):
        load_days(con, TABLES["email"], landing, days, datetime(2026, 3, 12))
    assert _raw_snapshot(con) == before


def test_control_totals_become_one_row_per_metric(con, landing):
    assert load_control_day(con, landing, "2026-03-14", LOADED_AT) == 2
    rows = _table(con, "select source, date::varchar, kind, metric, value::int from raw.control_totals order by metric")
    assert rows == [("email", "2026-03-14", "count", "click", 1), ("email", "2026-03-14", "count", "open", 2)]


@pytest.mark.parametrize(
    "typed,region,expected",
    [
        ("+14155550132", "US", "+14155550132"),
        ("(415) 555-0132", "US", "+14155550132"),
        ("415 555 0132", "US", "+14155550132"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("000-000-0000", "US", None),  # all-zero junk parses but is no number
        ("555-0132", "US", None),  # too short to be valid
        ("not a phone", "US", None),
    ],
)
def test_phones_normalize_to_e164_only_when_valid(typed, region, expected):
    assert to_e164(typed, region) == expected


def test_phone_lookup_adds_only_new_strings(con, landing):
    load_partition(con, TABLES["pos"], landing, "2026-03-14", LOADED_AT)
    assert normalize_new_phones(con, "US")["new_phone_strings"] == 1
    assert normalize_new_phones(con, "US")["new_phone_strings"] == 0
    assert _table(con, "select raw_phone, e164 from raw.phone_numbers") == [("415-555-0132", "+14155550132")]


@pytest.mark.parametrize(
    "email, status",
    [
        ("jane@gmial.com", "typo"),  # one swap from gmail.com, and squatted: on the disposable list too
        ("jane@hotmial.com", "typo"),
        ("jane@yaho.com", "typo"),  # not on the list
        ("jane@yopmail.com", "disposable"),  # two keystrokes from hotmail.com, but a throwaway service of its own
        ("jane@mailinator.com", "disposable"),
        ("info@company12.com", "role"),
        ("jane..doe@gmail.com", "invalid"),
        ("jane.doe@gmail.com", "valid"),
    ],
)
def test_email_status_tells_a_providers_misspelling_from_a_throwaway_service(email, status):
    from orchestration.ingestion.emails import classify

    assert classify(email)[0] == status
