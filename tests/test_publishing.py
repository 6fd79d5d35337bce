"""Publishing mechanics on a hand-made marts schema: hashing, the leak scan, atomic swap, untouched on failure."""

import json
import os

import duckdb
import pytest

from orchestration.publishing.release import swap_in, write_release


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("create schema marts")
    connection.execute("""create table marts.dim_person as select * from (values
        ('cus_1', 'jane@example.com', '+14155550132', 'Jane', 'valid'),
        ('cus_2', 'bob@example.com', null, 'Bob', 'role')) t(customer_id, primary_email, primary_phone, first_name, email_status)""")
    yield connection
    connection.close()


def test_identifiers_are_salted_hashes_and_other_columns_stay(con, tmp_path):
    release = write_release(con, tmp_path / "pub", "r1", {"run_id": "x"}, salt="s3cret")
    published = duckdb.connect(str(release.path / "omnichannel.duckdb"), read_only=True)
    rows = published.execute("select * from marts.dim_person order by customer_id").fetchall()
    expected = con.execute("select sha256('s3cret' || 'jane@example.com')").fetchall()[0][0]
    assert rows[0][0] == "cus_1" and rows[0][1] == expected and rows[0][4] == "valid"
    assert rows[1][2] is None
    assert b"jane@example.com" not in (release.path / "omnichannel.duckdb").read_bytes()
    assert b"jane@example.com" not in (release.path / "parquet" / "dim_person.parquet").read_bytes()
    assert json.loads((release.path / "manifest.json").read_text())["tables"] == {"dim_person": 2}


def test_a_column_that_is_not_known_as_pii_but_holds_an_email_stops_publication(con, tmp_path):
    con.execute("create table marts.notes as select 'write to jane@example.com' as remark")
    with pytest.raises(RuntimeError, match="notes.remark"):
        write_release(con, tmp_path / "pub", "r1", {}, salt="s3cret")
    assert not (tmp_path / "pub" / "current").exists()


def test_turning_hashing_off_publishes_in_the_clear(con, tmp_path):
    release = write_release(con, tmp_path / "pub", "r1", {}, salt=None)
    published = duckdb.connect(str(release.path / "omnichannel.duckdb"), read_only=True)
    assert published.execute("select primary_email from marts.dim_person where customer_id = 'cus_1'").fetchall() == [
        ("jane@example.com",)
    ]


def test_swap_replaces_current_atomically_and_keeps_recent_releases(con, tmp_path):
    publish_dir = tmp_path / "pub"
    for index in range(5):
        release = write_release(con, publish_dir, f"r{index}", {"n": index}, salt="s")
        swap_in(publish_dir, release)
        assert os.readlink(publish_dir / "current") == f"releases/r{index}"
        assert json.loads((publish_dir / "manifest.json").read_text())["n"] == index
    assert sorted(p.name for p in (publish_dir / "releases").iterdir()) == ["r2", "r3", "r4"]
