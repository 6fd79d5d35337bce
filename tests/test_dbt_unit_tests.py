"""The dbt unit tests (hand-computed fixtures for the tricky SQL) pass when run the way a developer runs them.

This is where they run: the pipeline's `dbt build` excludes them, as dbt advises for production builds.
"""

import json
import shutil

from conftest import run_dbt

IDENTITY_UNIT_TESTS = {
    "int_identity_phone_epochs.phone_with_one_owner_is_one_open_period",
    "int_identity_phone_epochs.recycled_phone_splits_into_periods_at_the_next_owner",
    "int_identity_phone_epochs.phone_of_two_owners_at_once_is_shared_and_bridges_no_one",
    "int_identity_customer_ids.customer_id_hashes_the_earliest_delivered_identifier_then_the_most_trusted",
}


def test_every_dbt_unit_test_passes(world, tmp_path):
    # Unit tests read only their fixtures, but dbt takes each input's columns from the warehouse: a copy of the
    # test world's has every model, and no other process writes it.
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(world.warehouse, warehouse)
    # run_dbt gives dbt its own target folder: what it ran is read from there.
    target = tmp_path / "target"
    run_dbt("test", ["test_type:unit"], warehouse, tmp_path)
    results = json.loads((target / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"].removeprefix("unit_test.omnichannel."): r["status"] for r in results}
    assert set(statuses) >= IDENTITY_UNIT_TESTS
    # Every unit test of the project ran: the pipeline's own builds leave them out (they test SQL, not data).
    manifest = json.loads((target / "manifest.json").read_text())
    assert set(statuses) == {u.removeprefix("unit_test.omnichannel.") for u in manifest["unit_tests"]}
    assert set(statuses.values()) == {"pass"}
