"""Publishing mechanics on a hand-made marts schema: hashing, the leak scan, atomic swap, untouched on failure."""

import json
import os

import duckdb
import pytest

from orchestration.publishing.release import (
    parse_keep_releases,
    prune_releases,
    release_fingerprint,
    scrub_current,
    swap_in,
    unchanged_release,
    write_release,
)


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


def _publish(con, publish_dir, release_id, salt="s", keep=3):
    """What the publish asset does with the warehouse: a release only when the marts are not the current one's."""
    fingerprint = release_fingerprint(con, salt)
    unchanged = unchanged_release(publish_dir, fingerprint)
    if unchanged is not None:
        prune_releases(publish_dir, keep)
        return unchanged
    swap_in(publish_dir, write_release(con, publish_dir, release_id, {}, salt, fingerprint), keep)
    return release_id


def _releases(publish_dir):
    return sorted(p.name for p in (publish_dir / "releases").iterdir())


def test_the_same_marts_twice_publish_one_release(con, tmp_path):
    publish_dir = tmp_path / "pub"
    assert _publish(con, publish_dir, "r1") == "r1"
    # Rows in another order are the same marts.
    con.execute("create or replace table marts.dim_person as select * from marts.dim_person order by customer_id desc")
    assert _publish(con, publish_dir, "r2") == "r1"
    assert _releases(publish_dir) == ["r1"] and os.readlink(publish_dir / "current") == "releases/r1"
    manifest = json.loads((publish_dir / "manifest.json").read_text())
    assert manifest["fingerprint"]["tables"]["dim_person"]["rows"] == 2
    assert "s" not in json.dumps(manifest["fingerprint"]["salt_sha256"]) and manifest["fingerprint"]["salt_sha256"]


@pytest.mark.parametrize(
    "change",
    [
        "update marts.dim_person set email_status = 'valid' where customer_id = 'cus_2'",
        "insert into marts.dim_person select * from marts.dim_person where customer_id = 'cus_1'",  # a duplicate
        "create table marts.dim_empty (customer_id varchar)",
        "alter table marts.dim_person rename column first_name to given_name",
        "alter table marts.dim_person alter email_status type varchar[] using [email_status]",
    ],
)
def test_one_changed_row_or_table_or_column_publishes_a_new_release(con, tmp_path, change):
    publish_dir = tmp_path / "pub"
    _publish(con, publish_dir, "r1")
    con.execute(change)
    assert _publish(con, publish_dir, "r2") == "r2"
    assert _releases(publish_dir) == ["r1", "r2"] and os.readlink(publish_dir / "current") == "releases/r2"


def test_doubles_that_differ_in_their_last_bits_are_the_same_marts_and_a_real_change_is_not(con, tmp_path):
    """A rebuild adds a sum's doubles in another order (DuckDB's threads): 0.1 + 0.2 is not 0.3 + 0.0."""
    publish_dir = tmp_path / "pub"
    con.execute("create table marts.agg_share as select 'email' as channel, 0.3::double as share, -0.0::double as zero")
    _publish(con, publish_dir, "r1")
    con.execute("update marts.agg_share set share = 0.1::double + 0.2::double, zero = 0.0")
    assert con.execute("select share <> 0.3 from marts.agg_share").fetchall() == [(True,)]
    assert _publish(con, publish_dir, "r2") == "r1"
    con.execute("update marts.agg_share set share = 0.3000001")
    assert _publish(con, publish_dir, "r3") == "r3"


def test_duplicate_rows_do_not_cancel_in_the_digest(con, tmp_path):
    publish_dir = tmp_path / "pub"
    con.execute("insert into marts.dim_person select * from marts.dim_person where customer_id = 'cus_1'")
    _publish(con, publish_dir, "r1")
    con.execute("insert into marts.dim_person select * from marts.dim_person where customer_id = 'cus_1'")
    con.execute("delete from marts.dim_person where customer_id = 'cus_2'")
    con.execute("insert into marts.dim_person values ('cus_2', 'bob@example.com', null, 'Bob', 'role')")
    assert _publish(con, publish_dir, "r2") == "r2"


@pytest.mark.parametrize("salt", ["another salt", None])
def test_another_salt_or_hashing_off_publishes_a_new_release(con, tmp_path, salt):
    publish_dir = tmp_path / "pub"
    _publish(con, publish_dir, "r1", salt="s")
    assert _publish(con, publish_dir, "r2", salt=salt) == "r2"
    assert json.loads((publish_dir / "manifest.json").read_text())["identifiers"] == (
        "clear text" if salt is None else "salted sha256"
    )
    # ... and the same salt again is unchanged against the new release.
    assert _publish(con, publish_dir, "r3", salt=salt) == "r2"


def test_a_scrubbed_release_is_replaced_by_the_next_publication(con, tmp_path):
    publish_dir = tmp_path / "pub"
    _publish(con, publish_dir, "r1")
    scrubbed = scrub_current(publish_dir, ["cus_2"])
    assert "fingerprint" not in json.loads((scrubbed.path / "manifest.json").read_text())
    assert _publish(con, publish_dir, "r2") == "r2"


def test_keep_two_of_four_releases_the_current_among_them(con, tmp_path):
    publish_dir = tmp_path / "pub"
    for index in range(4):
        con.execute(f"update marts.dim_person set first_name = 'Jane {index}' where customer_id = 'cus_1'")
        assert _publish(con, publish_dir, f"r{index}", keep=2) == f"r{index}"
    assert _releases(publish_dir) == ["r2", "r3"] and os.readlink(publish_dir / "current") == "releases/r3"


def test_the_release_current_points_at_is_never_deleted(con, tmp_path):
    publish_dir = tmp_path / "pub"
    _publish(con, publish_dir, "r5")
    for newer in ("r6", "r7"):  # newer by name, say written by hand: still not current
        (publish_dir / "releases" / newer).mkdir()
    prune_releases(publish_dir, keep=1)
    assert _releases(publish_dir) == ["r5", "r7"] and (publish_dir / "current" / "omnichannel.duckdb").exists()


def test_what_a_crash_left_half_built_or_half_deleted_goes_on_the_next_publish(con, tmp_path):
    publish_dir = tmp_path / "pub"
    _publish(con, publish_dir, "r1")
    for leftover in (".deleting-x", ".building-r0"):
        (publish_dir / "releases" / leftover / "parquet").mkdir(parents=True)
        (publish_dir / "releases" / leftover / "parquet" / "t.parquet").write_bytes(b"half")
    assert _publish(con, publish_dir, "r2") == "r1"  # nothing new to publish, the leftovers go all the same
    assert _releases(publish_dir) == ["r1"]


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "three", ""])
def test_a_number_of_releases_to_keep_that_is_not_a_whole_number_names_the_setting(value):
    with pytest.raises(ValueError, match="^OMNI_KEEP_RELEASES must be a whole number") as raised:
        parse_keep_releases(value)
    assert "\n" not in str(raised.value)


def test_the_number_of_releases_to_keep_reads_the_setting(monkeypatch, tmp_path):
    from orchestration.defs.resources import pipeline_resources

    monkeypatch.setenv("OMNI_HOME", str(tmp_path))
    monkeypatch.setenv("OMNI_KEEP_RELEASES", " 5 ")
    assert pipeline_resources()["publication"].process_config_and_initialize().keep == 5
    monkeypatch.delenv("OMNI_KEEP_RELEASES")
    assert pipeline_resources()["publication"].keep == 3


def test_the_publish_asset_says_unchanged_keeps_the_report_and_clears_a_refused_runs_report(con, tmp_path):
    """The publish and report assets run twice on the same marts: one release, its report drawn once, and the
    report of a publication refused in between cleared, since the gate is open again."""
    import dagster as dg

    from orchestration.defs.publishing import build_published_marts
    from orchestration.defs.reporting import build_release_report
    from orchestration.defs.resources import Publication, Warehouse
    from orchestration.publishing.row_drops import ACKNOWLEDGEMENTS

    con.execute("create schema raw")
    con.execute("create table raw.ingest_log as select date '2026-03-01' as _delivery_date")
    con.close()
    publish_dir = tmp_path / "pub"
    assets = [build_published_marts([], []), build_release_report([])]
    resources = {
        "warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
        "publication": Publication(path=str(publish_dir), home=str(tmp_path), salt="s", keep_releases="2"),
    }
    instance = dg.DagsterInstance.ephemeral()

    def publish() -> dict:
        result = dg.materialize(assets, resources=resources, instance=instance)
        assert result.success
        return {
            key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
            for e in (x.event_specific_data for x in result.get_asset_materialization_events())
            for key in [e.materialization.asset_key]
        }

    first = publish()
    release = first["published/marts"]["release"]
    assert "unchanged" not in first["published/marts"]
    report = publish_dir / "current" / "report.html"
    drawn = report.stat().st_mtime_ns
    # A refused publication in between left its report, and an acknowledgement waits for the next release.
    (publish_dir / "failed").mkdir()
    (publish_dir / "failed" / "report.html").write_text("NOT published")
    (publish_dir / ACKNOWLEDGEMENTS).write_text(
        json.dumps([{"mart": "dim_person", "against_release": release, "reason": "r", "by": "me"}])
    )
    second = publish()
    assert second["published/marts"]["unchanged"] == f"release {release} stays current"
    assert second["published/marts"]["release"] == release
    assert second["published/marts"]["dagster/row_count"] == 2
    assert second["published/report"]["unchanged"] == f"release {release} stays current"
    assert sorted(p.name for p in (publish_dir / "releases").iterdir()) == [release]
    assert report.stat().st_mtime_ns == drawn
    assert not (publish_dir / "failed" / "report.html").exists()
    assert json.loads((publish_dir / ACKNOWLEDGEMENTS).read_text())[0]["against_release"] == release


def test_forget_deletes_every_other_release_and_what_a_crash_left(con, tmp_path):
    publish_dir = tmp_path / "pub"
    _publish(con, publish_dir, "r1")
    con.execute("update marts.dim_person set first_name = 'Janet' where customer_id = 'cus_1'")
    _publish(con, publish_dir, "r2")
    (publish_dir / "releases" / ".deleting-r0").mkdir()
    scrubbed = scrub_current(publish_dir, ["cus_1"])
    assert _releases(publish_dir) == [scrubbed.release_id]
