"""The row-count drop rule on a hand-made publication: what blocks, what an acknowledgement lets through, and for how
long. The pipeline test (`tests/test_forget.py`) runs the check itself and the publication that records it."""

import json
from pathlib import Path

import pytest

from orchestration.publishing.row_drops import (
    acknowledge,
    clear_acknowledgements,
    parse_max_drop,
    pending_acknowledgements,
    row_drop,
)


def _publish(publish_dir: Path, release_id: str, tables: dict[str, int]) -> None:
    publish_dir.mkdir(parents=True, exist_ok=True)
    (publish_dir / "manifest.json").write_text(json.dumps({"release_id": release_id, "tables": tables}))


@pytest.fixture
def publish_dir(tmp_path: Path) -> Path:
    _publish(tmp_path / "published", "r1", {"fct_conversion": 48, "dim_customer": 250})
    return tmp_path / "published"


@pytest.mark.parametrize(
    "mart, rows, passed",
    [
        ("fct_conversion", 0, False),  # 48 -> 0: the publication
        ("fct_conversion", 23, False),  # 52% fewer
        ("fct_conversion", 24, True),  # exactly half: allowed
        ("fct_conversion", 47, True),  # one customer forgotten
        ("dim_customer", 900, True),  # growth is never a drop
        ("agg_new_mart", 0, True),  # not published before: nothing to compare with
    ],
)
def test_a_drop_beyond_the_allowed_share_blocks(publish_dir, mart, rows, passed):
    drop = row_drop(mart, rows, publish_dir, 0.5)
    assert drop.passed is passed
    if not passed:
        assert "omnichannel acknowledge-drop fct_conversion" in drop.describe()


def test_nothing_published_yet_never_blocks(tmp_path):
    assert row_drop("fct_conversion", 0, tmp_path / "nothing", 0.5).passed


def test_an_acknowledgement_lets_one_mart_through_until_the_next_publication(publish_dir):
    [record] = acknowledge(publish_dir, ["fct_conversion"], "erased a reseller's account on request")
    assert record["against_release"] == "r1" and record["published_rows"] == 48 and record["by"]
    drop = row_drop("fct_conversion", 0, publish_dir, 0.5)
    assert drop.passed and "acknowledged by" in drop.describe()
    assert not row_drop("dim_customer", 10, publish_dir, 0.5).passed  # only the mart named
    assert set(pending_acknowledgements(publish_dir)) == {"fct_conversion"}
    clear_acknowledgements(publish_dir)  # what a publication does once it recorded them
    assert not row_drop("fct_conversion", 0, publish_dir, 0.5).passed


def test_an_acknowledgement_made_against_an_older_release_is_void(publish_dir):
    acknowledge(publish_dir, ["fct_conversion"], "known")
    _publish(publish_dir, "r2", {"fct_conversion": 40})  # published since, e.g. by a forget's scrub
    assert pending_acknowledgements(publish_dir) == {}
    assert not row_drop("fct_conversion", 0, publish_dir, 0.5).passed


@pytest.mark.parametrize(
    "marts, reason, message",
    [
        (["fct_conversion", "fct_nothing"], "x", "no mart 'fct_nothing' in the current publication"),
        (["fct_conversion"], "  ", "say why"),
    ],
)
def test_acknowledging_needs_published_marts_and_a_reason_and_records_none_otherwise(
    publish_dir, marts, reason, message
):
    with pytest.raises(ValueError, match=message):
        acknowledge(publish_dir, marts, reason)
    assert pending_acknowledgements(publish_dir) == {}


def test_acknowledging_before_any_publication_is_refused(tmp_path):
    with pytest.raises(LookupError, match="nothing is published"):
        acknowledge(tmp_path, ["fct_conversion"], "x")


@pytest.mark.parametrize("value, expected", [("0.5", 0.5), ("0", 0.0), ("1", 1.0), (0.25, 0.25)])
def test_the_allowed_drop_is_a_share(value, expected):
    assert parse_max_drop(value) == expected


@pytest.mark.parametrize("value", ["50%", "1.5", "-0.1", ""])
def test_an_allowed_drop_that_is_not_a_share_names_the_setting(value):
    with pytest.raises(ValueError, match="OMNI_PUBLISH_MAX_ROW_DROP"):
        parse_max_drop(value)
