"""Identity resolution on simulated worlds, scored against the simulator's ground truth."""

import duckdb
import pandas as pd
import pytest

from orchestration.identity.explain import UnknownIdentifier, explain
from simulator.scoring.identity import score


@pytest.fixture(scope="module")
def scores(world):
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        return score(con, world.truth)


def _customers_of(world, kind: str, values: list[str]) -> dict[str, str]:
    rows = world.query(
        "select identifier_value, customer_id from marts.customer_identifier "
        "where identifier_type = ? and list_contains(?, identifier_value)",
        [kind, values],
    )
    return dict(rows)


def test_people_are_clustered_with_bcubed_precision_and_recall_against_truth(scores):
    people = scores["people"]
    assert people["items"] > 1000
    assert people["precision"] >= 0.995, people
    assert people["recall"] >= 0.98, people
    # Cookies and devices are scored too, and are reported separately.
    assert scores["cookies_and_devices"]["items"] > 0


def test_a_shared_family_tablet_does_not_merge_its_family(world):
    truth = pd.read_parquet(world.truth / "identifiers.parquet")
    tablets = truth[(truth["identifier_type"] == "device") & truth["is_shared"]]
    assert tablets["identifier_value"].nunique() > 0, "the default world has shared tablets"
    emails = truth[(truth["identifier_type"] == "email") & ~truth["is_junk"]][["person_id", "identifier_value"]]
    family = emails[emails["person_id"].isin(tablets["person_id"])]
    customers = _customers_of(world, "email", family["identifier_value"].tolist())
    family = family.assign(customer=family["identifier_value"].map(customers)).dropna(subset=["customer"])
    for _, members in tablets.groupby("identifier_value"):
        # A person may hold two addresses: each member's customers count once.
        seen = family[family["person_id"].isin(members["person_id"])].drop_duplicates(["person_id", "customer"])
        assert not seen["customer"].duplicated().any(), (
            f"family members merged through {members['identifier_value'].iloc[0]}"
        )
    shared = world.query(
        "select count(*) from marts.customer_identifier "
        "where identifier_type = 'device' and is_shared and identifier_value like 'dev-tablet-%'"
    )
    assert shared[0][0] > 0


def test_a_guest_email_typed_at_the_till_merges_no_one(world):
    truth = pd.read_parquet(world.truth / "identifiers.parquet")
    guest = truth[
        (truth["identifier_type"] == "email") & truth["is_junk"] & ~truth["identifier_value"].str.startswith("test")
    ]
    assert guest["person_id"].nunique() > 1, "the default world has guests at the till"
    assert _customers_of(world, "email", guest["identifier_value"].unique().tolist()) == {}
    own = truth[(truth["identifier_type"] == "email") & ~truth["is_junk"] & truth["person_id"].isin(guest["person_id"])]
    customers = _customers_of(world, "email", own["identifier_value"].tolist())
    # A person may hold two addresses (one customer); two people must never share one.
    people_of = own.assign(customer_id=own["identifier_value"].map(customers)).dropna(subset=["customer_id"])
    assert people_of["person_id"].nunique() > 1
    shared = people_of.groupby("customer_id")["person_id"].nunique()
    assert (shared == 1).all(), f"people who used a guest email were merged: {shared[shared > 1].to_dict()}"


def test_explain_names_the_records_that_joined_an_identifier(world):
    crm_id = world.query(
        "select identifier_value from marts.customer_identifier where identifier_type = 'crm_id' "
        "and customer_id in (select customer_id from marts.customer_identifier "
        "where identifier_type = 'email') order by 1 limit 1"
    )[0][0]
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        text = explain(con, crm_id)
    assert text.startswith("customer cus_")
    assert "email " in text
    # Each join names its source record: source, file and line.
    assert "<- crm record crm/" in text and " line " in text
    with (
        duckdb.connect(str(world.warehouse), read_only=True) as con,
        pytest.raises(UnknownIdentifier, match="no customer holds"),
    ):
        explain(con, "nobody@nowhere.example")


def test_email_status_recovers_the_simulated_kinds(world):
    truth = pd.read_parquet(world.truth / "emails.parquet")
    statuses = dict(world.query("select email, email_status from raw.email_addresses"))
    judged = truth[truth["email"].isin(statuses)]
    assert set(judged["email_status"]) >= {"valid", "role", "disposable", "typo", "invalid"}
    agreement = (judged["email"].map(statuses) == judged["email_status"]).mean()
    assert agreement == 1.0, judged[judged["email"].map(statuses) != judged["email_status"]].head()
    dims = world.query("select count(*), count(email_status) from marts.dim_customer where primary_email is not null")
    assert dims[0][0] == dims[0][1] > 0


@pytest.fixture(scope="module")
def incremental(world):
    """The default world as its first delivery days left it, and again once the rest were delivered and run."""
    columns = "identifier_type, identifier_value, ownership_period, customer_id"
    with duckdb.connect(str(world.first_run_warehouse), read_only=True) as con:
        before = con.execute(f"select {columns} from marts.customer_identifier").df()
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        after = con.execute(f"select {columns} from marts.customer_identifier").df()
        history = con.execute(
            "select old_customer_id, new_customer_id, change_type from marts.customer_id_history"
        ).df()
    return before, after, history


def test_customer_ids_stay_stable_when_new_days_arrive_and_merges_are_recorded(incremental):
    before, after, history = incremental
    both = before.merge(
        after, on=["identifier_type", "identifier_value", "ownership_period"], suffixes=("_before", "_after")
    )
    assert len(both) == len(before)
    changed = both[both["customer_id_before"] != both["customer_id_after"]]
    # Only merges move an identifier, and every move is in the history, old id -> new id.
    assert len(changed) <= 0.01 * len(both)
    recorded = set(zip(history["old_customer_id"], history["new_customer_id"]))
    assert set(zip(changed["customer_id_before"], changed["customer_id_after"])) <= recorded
    # Customers untouched by a merge keep their id: almost all of them.
    assert both["customer_id_before"].isin(after["customer_id"]).mean() > 0.99
