"""Erasure in files, on hand-made data: DuckDB keeps deleted rows' bytes until the file is rewritten; a scrubbed
release is written fresh; Dagster check metadata never receives values that may name a person."""

import subprocess
import sys

import duckdb
import pytest

from data_quality.gx_runner import ExpectationFailure, SuiteOutcome
from orchestration.defs.quality import suite_check_result
from orchestration.privacy.files import rewrite_database
from orchestration.publishing.release import scrub_current, swap_in, write_release

MARKER = "erase.me.please@example.org"


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.people as select 'person' || i || '@example.com' as email, i from range(20000) t(i)"
        )
        con.execute(f"insert into raw.people values ('{MARKER}', -1)")
        con.execute(f"create table raw.copies as select * from raw.people where email = '{MARKER}'")
        con.execute("create view raw.people_view as select email from raw.people")
        con.execute("checkpoint")
        con.execute(f"delete from raw.people where email = '{MARKER}'")
        con.execute("drop table raw.copies")
        con.execute("checkpoint")
    return path


def test_deleted_rows_stay_in_the_file_until_it_is_rewritten(database):
    # Why forget rewrites the file: SQL no longer finds the row, the bytes still hold it.
    assert MARKER.encode() in database.read_bytes()
    sizes = rewrite_database(database)
    assert MARKER.encode() not in database.read_bytes()
    assert sizes["bytes_after"] <= sizes["bytes_before"]
    assert not database.with_name(database.name + ".wal").exists()
    assert not database.with_name(database.name + ".rewrite").exists()
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*), count(distinct email) from raw.people_view").fetchall() == [(20000, 20000)]
        assert con.execute("select count(*) from raw.people where email = ?", [MARKER]).fetchall() == [(0,)]


def test_a_database_another_process_holds_is_left_as_it_is(database):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(database)!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        before = database.read_bytes()
        with pytest.raises(duckdb.IOException, match="lock"):
            rewrite_database(database)
        assert database.read_bytes() == before
        assert not database.with_name(database.name + ".rewrite").exists()
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def published(tmp_path):
    publish_dir = tmp_path / "published"
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema marts")
        con.execute(f"""create table marts.dim_customer as select * from (values
            ('cus_1', '{MARKER}'), ('cus_2', 'bob@example.com')) t(customer_id, primary_email)""")
        con.execute(
            "create table marts.fct_conversion as select * from (values ('o1', 'cus_1'), ('o2', null)) "
            "t(conversion_id, customer_id)"
        )
        release = write_release(con, publish_dir, "r1", {}, salt=None)  # identifiers in the clear
    swap_in(publish_dir, release)
    return publish_dir


def test_a_scrubbed_release_is_written_fresh_and_the_old_one_deleted(published):
    release = scrub_current(published, ["cus_1"])
    files = [p for p in published.rglob("*") if p.is_file()]
    assert not any(MARKER.encode() in p.read_bytes() for p in files)
    assert sorted(p.name for p in (published / "releases").iterdir()) == [release.release_id]
    assert release.tables == {"dim_customer": 1, "fct_conversion": 1}  # rows without a customer stay
    with duckdb.connect(str(published / "current" / "omnichannel.duckdb"), read_only=True) as con:
        assert con.execute("select primary_email from marts.dim_customer").fetchall() == [("bob@example.com",)]


def test_check_metadata_keeps_examples_that_may_name_a_person_out_of_dagster(tmp_path):
    outcome = SuiteOutcome(
        "staging.stg_email__events",
        "2026-03-14",
        10,
        3,
        [
            ExpectationFailure("expect_column_values_to_match_regex", "email", 2, ["jane@@example.com", "x"]),
            ExpectationFailure("expect_column_values_to_be_in_set", "notes", 1, ["call +14155550132"]),
            ExpectationFailure("expect_column_values_to_be_in_set", "event_type", 1, ["opened"]),
        ],
        page=tmp_path / "validation.html",
    )
    result = suite_check_result(outcome, None, "gx_suite")
    failures = result.metadata["failures"].value
    assert "jane@@example.com" not in str(failures) and "4155550132" not in str(failures)
    assert failures[0].endswith("(examples only in Data Docs)")
    assert "e.g. ['opened']" in failures[2]
