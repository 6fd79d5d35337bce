"""Landing files and folders that break the contract: each bad line quarantined with its reason while the rest
of the file loads on its true line numbers, the day reconciling, errors that name file and line but never content."""

import gzip
import json
import logging
import traceback
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion import lines as lines_module
from orchestration.ingestion import loader
from orchestration.ingestion.errors import duckdb_failure
from orchestration.ingestion.layout import (
    LandingLayoutError,
    check_source_folder,
    delivery_days,
    unknown_folders,
)
from orchestration.ingestion.loader import LandingFileError, load_partition
from orchestration.ingestion.sources import RAW_TABLES

TABLES = {t.table: t for t in RAW_TABLES}
LOADED_AT = datetime(2026, 3, 15, 6, 0)
DAY = "2026-03-14"
POS_HEADER = (
    "store_id,receipt_id,local_time,store_tz,loyalty_id,email,phone,total_cents,currency,type,original_receipt_id"
)


def _email(event_id: str, **fields) -> bytes:
    record = {"sg_event_id": event_id, "email": f"{event_id}@example.com", "timestamp": 1773483721, "event": "open"}
    return json.dumps({**record, **fields}).encode()


def _pos(receipt: str, email: str = "") -> str:
    return f"S01,{receipt},2026-03-14 09:15:00,America/New_York,,{email},,5990,USD,sale,"


def _write(root: Path, source: str, name: str, lines: list[bytes], gzipped: bool = False) -> Path:
    folder = root / source / DAY
    folder.mkdir(parents=True, exist_ok=True)
    data = b"\n".join(lines) + b"\n"
    path = folder / (name + (".gz" if gzipped else ""))
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


def _physical_lines(path: Path) -> int:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def _load(con, root: Path, table: str, **kwargs):
    return load_partition(con, TABLES[table], root, DAY, LOADED_AT, **kwargs)


def _quarantine(con) -> dict[int, str]:
    return dict(con.execute("select _line, reason from raw.quarantine order by _line").fetchall())


def _loaded(con, table: str) -> list[tuple[int, str]]:
    return con.execute(f"select _line, _event_id from raw.{table} order by _line").fetchall()


def _assert_reconciles(con, table: str, files: list[Path], header_lines: int = 0) -> None:
    """The log balances, and its lines read are the lines the files really hold."""
    read, loaded, duplicates, quarantined = con.execute(
        "select lines_read, rows_loaded, duplicates, quarantined from raw.ingest_log where table_name = ?", [table]
    ).fetchall()[0]
    assert read == loaded + duplicates + quarantined
    assert read == sum(_physical_lines(f) for f in files) - header_lines
    nulls = con.execute(f"select count(*) from raw.{table} where record is null or _event_id is null").fetchall()
    assert nulls == [(0,)]


# --- CSV: a quoted field holding a line break -----------------------------------------------------------------


def test_a_multi_line_csv_record_is_quarantined_whole_and_later_rows_keep_their_lines(con, tmp_path):
    path = _write(
        tmp_path,
        "pos",
        "z.csv",
        [
            line.encode()
            for line in [
                POS_HEADER,
                _pos("R1"),
                'S01,R2,2026-03-14 09:20:00,America/New_York,,"jane@example.com',  # the e-receipt field breaks here
                'Apt 4",,100,USD,sale,',
                _pos("R3", "a@b.com"),
                "S01,R4,2026-03-14 09:25:00",  # an ordinary bad row after it
                _pos("R5"),
            ]
        ],
    )
    stats = _load(con, tmp_path, "pos")
    assert _loaded(con, "pos") == [(2, "R1"), (5, "R3"), (7, "R5")]
    reasons = _quarantine(con)
    span = "multi-line CSV record (lines 3-4): a quoted field holds a line break"
    assert reasons[3] == reasons[4] == span
    assert reasons[6].startswith("malformed CSV row: MISSING COLUMNS")
    assert (stats.rows_loaded, stats.quarantined) == (3, 3)
    assert con.execute("select record->>'$.email' from raw.pos where _line = 5").fetchall() == [("a@b.com",)]
    _assert_reconciles(con, "pos", [path], header_lines=1)


def test_crlf_csv_with_a_multi_line_record_and_an_unterminated_quote_at_the_end(con, tmp_path):
    folder = tmp_path / "pos" / DAY
    folder.mkdir(parents=True)
    path = folder / "z.csv.gz"
    rows = [
        POS_HEADER,
        _pos("R1"),
        'S01,R2,x,y,,"two',
        "",
        'lines",,1,USD,sale,',
        _pos("R3"),
        'S01,R4,x,y,,"never closed,,1,USD,sale,',
        _pos("R5"),
    ]
    path.write_bytes(gzip.compress(("\r\n".join(rows) + "\r\n").encode()))
    _load(con, tmp_path, "pos")
    assert _loaded(con, "pos") == [(2, "R1"), (6, "R3")]
    reasons = _quarantine(con)
    assert {reasons[n] for n in (3, 4, 5)} == {"multi-line CSV record (lines 3-5): a quoted field holds a line break"}
    assert reasons[7] == reasons[8] == "unterminated quoted field (lines 7-8, to the end of the file)"
    _assert_reconciles(con, "pos", [path], header_lines=1)


def test_csv_quotes_parse_as_duckdb_reads_them(con, tmp_path):
    path = _write(
        tmp_path,
        "pos",
        "z.csv",
        [
            line.encode()
            for line in [
                POS_HEADER,
                'S01,R"1,2026-03-14 09:15:00,America/New_York,,"a,""b""@c.com",,5990,USD,sale,',  # stray quote kept as text
                'S01,"R2"x,2026-03-14 09:15:00,America/New_York,,,,5990,USD,sale,',  # text after a closing quote
                'S01,R3,2026-03-14 09:15:00,America/New_York,"",,,5990,USD,sale,',
            ]
        ],
    )
    _load(con, tmp_path, "pos")
    rows = con.execute(
        "select _line, _event_id, record->>'$.email', record->>'$.loyalty_id' from raw.pos order by _line"
    ).fetchall()
    assert rows == [(2, 'R"1', 'a,"b"@c.com', None), (4, "R3", None, None)]
    assert _quarantine(con)[3].startswith("malformed CSV row: misplaced quote")
    _assert_reconciles(con, "pos", [path], header_lines=1)


def test_csv_records_are_the_json_duckdbs_reader_makes(con, tmp_path):
    path = _write(
        tmp_path,
        "pos",
        "z.csv",
        [POS_HEADER.encode(), _pos("R1", "x@y.com").encode(), b'S01,R2,t,tz,,"q,""x""",,1,USD,sale,'],
    )
    _load(con, tmp_path, "pos")
    ours = [r[0] for r in con.execute("select record::varchar from raw.pos order by _line").fetchall()]
    theirs = [
        r[0]
        for r in con.execute(
            f"select to_json(r)::varchar from read_csv('{path}', header=true, all_varchar=true) r"
        ).fetchall()
    ]
    assert ours == theirs


def test_a_csv_header_that_cannot_be_read_fails_the_file_by_line_without_its_content(con, tmp_path):
    _write(tmp_path, "pos", "z.csv", [b"store_id,receipt_id,jane@example.com,receipt_id", _pos("R1").encode()])
    with pytest.raises(
        LandingFileError, match=r"z\.csv, line 1: not a usable CSV header \(a repeated column name\)"
    ) as raised:
        _load(con, tmp_path, "pos")
    assert "jane@example.com" not in str(raised.value)


# --- lines DuckDB cannot take as text --------------------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [False, True])
def test_an_invalid_utf8_line_is_quarantined_and_the_rest_of_the_file_loads(con, tmp_path, gzipped):
    path = _write(
        tmp_path,
        "email",
        "a.jsonl",
        [
            _email("e1"),
            _email("e2").replace(b"e2@example.com", "j\u00e9e2@example.com".encode("latin-1")),  # one latin-1 byte
            _email("e3"),
            b"",
            _email("e5"),
        ],
        gzipped,
    )
    _load(con, tmp_path, "email")
    assert _loaded(con, "email") == [(1, "e1"), (3, "e3"), (5, "e5")]
    assert _quarantine(con) == {2: "invalid UTF-8", 4: "empty line"}
    raw_line = con.execute("select raw_line from raw.quarantine where _line = 2").fetchall()[0][0]
    assert raw_line.startswith('{"sg_event_id": "e2"')  # the text as far as it is text, bad bytes shown as '?'
    _assert_reconciles(con, "email", [path])


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_line_over_the_limit_is_quarantined_and_one_at_the_limit_loads(con, tmp_path, gzipped):
    limit = lines_module.DEFAULT_MAX_LINE_BYTES

    def padded(event_id: str, size: int) -> bytes:
        line = _email(event_id, pad="")
        return _email(event_id, pad="x" * (size - len(line)))

    path = _write(
        tmp_path,
        "email",
        "a.jsonl",
        [_email("e1"), padded("e2", limit + 1), _email("e3"), padded("e4", limit), _email("e5")],
        gzipped,
    )
    _load(con, tmp_path, "email")
    assert _loaded(con, "email") == [(1, "e1"), (3, "e3"), (4, "e4"), (5, "e5")]
    assert _quarantine(con) == {2: f"line longer than {limit} bytes"}
    assert con.execute("select raw_line from raw.quarantine").fetchall() == [(None,)]  # 2 MB are not copied
    _assert_reconciles(con, "email", [path])


def test_the_line_limit_is_a_setting(con, tmp_path):
    path = _write(tmp_path, "email", "a.jsonl", [_email("e1"), _email("e2", pad="x" * 200), _email("e3")])
    _load(con, tmp_path, "email", max_line_bytes=200)
    assert _loaded(con, "email") == [(1, "e1"), (3, "e3")]
    assert _quarantine(con) == {2: "line longer than 200 bytes"}
    _assert_reconciles(con, "email", [path])


def test_several_unreadable_lines_keep_every_other_line_on_its_number(con, tmp_path):
    bad = "\u00e9".encode("latin-1")
    lines = [_email(f"e{n}") if n % 3 else _email(f"e{n}", note=None).replace(b"open", bad) for n in range(1, 31)]
    lines[9] = b'{"sg_event_id": "e10\x01\x02\x03\x04"}'  # the reader's reserved bytes
    path = _write(tmp_path, "email", "a.jsonl", lines, gzipped=True)
    _load(con, tmp_path, "email")
    loaded = _loaded(con, "email")
    assert all(event_id == f"e{line}" for line, event_id in loaded)
    assert [line for line, _ in loaded] == [n for n in range(1, 31) if n % 3 and n != 10]
    reasons = _quarantine(con)
    assert {reasons[n] for n in range(3, 31, 3)} == {"invalid UTF-8"}
    assert reasons[10].startswith("line holds the control bytes 01 02 03 04")
    _assert_reconciles(con, "email", [path])


def test_a_bad_line_in_a_csv_is_quarantined_too(con, tmp_path):
    path = _write(
        tmp_path,
        "pos",
        "z.csv",
        [POS_HEADER.encode(), _pos("R1").encode(), _pos("R2", "j\u00e9@x.com").encode("latin-1"), _pos("R3").encode()],
    )
    _load(con, tmp_path, "pos")
    assert _loaded(con, "pos") == [(2, "R1"), (4, "R3")]
    assert _quarantine(con) == {3: "invalid UTF-8"}
    _assert_reconciles(con, "pos", [path], header_lines=1)


# --- errors never quote a line ---------------------------------------------------------------------------------


def test_duckdbs_error_text_is_never_passed_on(con, tmp_path, monkeypatch):
    """Were DuckDB to fail on a line, the error names file and line, never the customer's email on it."""
    path = _write(tmp_path, "email", "a.jsonl", [_email("e1"), _email("e2").replace(b"@", "\u00e9@".encode("latin-1"))])

    # DuckDB's reader without its rejects table fails the file and quotes the line ("Original Line: ...").
    def strict(p, _):
        return (
            f"read_csv('{p}', columns={{'line': 'VARCHAR'}}, header=false, delim=chr(1), "
            "quote='', escape='', auto_detect=false)"
        )

    monkeypatch.setattr(lines_module, "_reader_sql", strict)
    with pytest.raises(LandingFileError) as raised:
        _load(con, tmp_path, "email")
    shown = "".join(traceback.format_exception(raised.value))
    assert "e2" not in shown and "example.com" not in shown
    assert str(raised.value) == f"{path}, line 2: cannot be read as text lines: invalid UTF-8"
    assert raised.value.__suppress_context__ and raised.value.__cause__ is None


def test_a_failure_keeps_only_the_kind_and_line_of_duckdbs_message():
    error = duckdb.InvalidInputException(
        'CSV Error on Line: 7\nOriginal Line: {"email": "jane@example.com"}\nInvalid unicode detected'
    )
    assert str(duckdb_failure("f.jsonl", "cannot be read", error)) == "f.jsonl, line 7: cannot be read: invalid UTF-8"
    unknown = duckdb.ConversionException('Could not convert string "jane@example.com" to INT32')
    assert str(duckdb_failure("f.csv", "cannot be read", unknown)) == "f.csv: cannot be read: ConversionException"


# --- identifiers that are not scalars --------------------------------------------------------------------------


def test_a_record_whose_identifier_is_a_list_or_an_object_is_quarantined(con, tmp_path):
    path = _write(
        tmp_path,
        "email",
        "a.jsonl",
        [
            _email("e1"),
            _email("e2", email=["a@b.com"]),
            _email("e3", customer_id={"id": "C1"}),
            _email("e4", email="[brackets]@example.com"),  # a string that merely starts like a list
            _email("e5", customer_id=None),
        ],
    )
    _load(con, tmp_path, "email")
    assert _loaded(con, "email") == [(1, "e1"), (4, "e4"), (5, "e5")]
    assert _quarantine(con) == {2: "non-scalar identifier field email", 3: "non-scalar identifier field customer_id"}
    _assert_reconciles(con, "email", [path])


def test_nested_identifier_paths_are_checked(con, tmp_path):
    base = {"messageId": "m1", "type": "identify", "anonymousId": "a1", "timestamp": "2026-03-14T10:00:00Z"}
    path = _write(
        tmp_path,
        "web",
        "w.jsonl",
        [
            json.dumps(r).encode()
            for r in [
                base,
                {**base, "messageId": "m2", "traits": {"email": {"primary": "a@b.com"}}},
                {**base, "messageId": "m3", "userId": ["C1", "C2"]},
                {**base, "messageId": "m4", "traits": {"email": "a@b.com", "phone": "+14155550132"}},
            ]
        ],
    )
    _load(con, tmp_path, "web")
    assert _loaded(con, "web") == [(1, "m1"), (4, "m4")]
    assert _quarantine(con) == {2: "non-scalar identifier field traits.email", 3: "non-scalar identifier field userId"}
    _assert_reconciles(con, "web", [path])


# --- never commit rows without record or event id --------------------------------------------------------------


def test_a_partition_with_a_row_lacking_its_event_id_is_never_committed(con, tmp_path, monkeypatch):
    path = _write(tmp_path, "email", "a.jsonl", [_email("e1"), _email("e2")])
    _load(con, tmp_path, "email")
    before = con.execute("select * from raw.email order by all").fetchall()
    real_classify, real_classify_many = loader.classify_file, loader.classify_jsonl_files

    def losing_an_id(con, table, path, relative, day, max_line_bytes):  # a reader bug, as the old CSV mapping had
        real_classify(con, table, path, relative, day, max_line_bytes)
        con.execute("update _partition_rows set event_id = null where _line = 2")

    def losing_an_id_of_many(con, table, files, max_line_bytes):  # the same bug in the one-statement path
        done = real_classify_many(con, table, files, max_line_bytes)
        con.execute("update _partition_rows set event_id = null where _line = 2")
        return done

    monkeypatch.setattr(loader, "classify_file", losing_an_id)
    monkeypatch.setattr(loader, "classify_jsonl_files", losing_an_id_of_many)
    with pytest.raises(
        LandingFileError, match=rf"{path}, line 2: 1 row\(s\) would load without a record or an event id"
    ):
        load_partition(con, TABLES["email"], tmp_path, DAY, datetime(2026, 3, 16))
    assert con.execute("select * from raw.email order by all").fetchall() == before


# --- folders -------------------------------------------------------------------------------------------------


def test_unknown_folders_are_reported_and_misnamed_days_refused_with_their_path(tmp_path):
    root = tmp_path
    _write(root, "email", "a.jsonl", [_email("e1")])
    for folder in [
        "tiktok/2026-03-20",
        "_control/tiktok",
        "_control/email",
        "_truth",
        "pos/2026-13-45",
        "pos/March",
        "pos/2026-03-14",
        ".cache",
    ]:
        (root / folder).mkdir(parents=True, exist_ok=True)
    assert unknown_folders(root) == ["tiktok", "_control/tiktok"]
    assert delivery_days(root) == ["2026-03-14"]  # neither tiktok's day nor 2026-13-45 becomes a partition
    with pytest.raises(LandingLayoutError) as raised:
        check_source_folder(root, "pos")
    assert f"{root / 'pos' / '2026-13-45'}, {root / 'pos' / 'March'}: not a delivery-day folder" in str(raised.value)
    check_source_folder(root, "email")


def test_loading_a_day_that_is_no_date_names_its_folder(con, tmp_path):
    with pytest.raises(LandingLayoutError, match=rf"{tmp_path / 'pos' / '2026-13-45'}: not a delivery day"):
        load_partition(con, TABLES["pos"], tmp_path, "2026-13-45", LOADED_AT)


def test_through_dagster_unknown_folders_warn_and_a_misnamed_day_fails_only_its_source(tmp_path):
    import dagster as dg
    from conftest import settings_at

    from orchestration.defs.ingestion import control_totals, raw_source_assets
    from orchestration.defs.partitions import DELIVERY_DAY
    from orchestration.defs.resources import pipeline_resources

    assets = [a for a in raw_source_assets if a.node_def.name in ("raw_email", "raw_pos")] + [control_totals]
    with settings_at(tmp_path) as root:
        landing = root / "landing"
        _write(landing, "email", "a.jsonl", [_email("e1"), _email("e2")])
        (landing / "tiktok" / DAY).mkdir(parents=True)
        (landing / "pos" / "March").mkdir(parents=True)
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(DELIVERY_DAY, [DAY])
        result = dg.materialize(
            assets, partition_key=DAY, instance=instance, raise_on_error=False, resources=pipeline_resources()
        )
    failures = {e.step_key: e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure}
    assert list(failures) == ["raw_pos"]
    assert f"{landing / 'pos' / 'March'}: not a delivery-day folder" in failures["raw_pos"]
    email = result.asset_materializations_for_node("raw_email")[0]
    assert email.metadata["unknown_folders"].value == ["tiktok"]
    assert email.metadata["rows_loaded"].value == 2
    warnings = [e.message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
    assert any("not read: tiktok" in message for message in warnings)
