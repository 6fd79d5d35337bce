"""Message pressure and consent compliance on a simulated world: the marts find every frequency breach and every
send after an opt-out that the simulator's ground truth lists, and nothing else (precision and recall 1.0)."""

import json

import duckdb
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def policy_world(metrics_world):
    """The session's metrics world (every kind of dirt and contact-policy misfire): warehouse, truth, publication."""
    return metrics_world.warehouse, metrics_world.truth, metrics_world.root / "published"


def _person_of_customer(con, truth) -> pd.DataFrame:
    """Each customer's true person: the person owning most of the customer's identifiers (shared ones left out), for
    test accounts' identifiers are junk to identity, so only their CRM ids name them)."""
    con.register("truth_ids", pd.read_parquet(truth / "identifiers.parquet"))
    return con.execute("""
        select customer_id, arg_max(person_id, n) as person_id from (
            select c.customer_id, t.person_id, count(*) as n
            from marts.customer_identifier as c
            inner join truth_ids as t on t.identifier_type = c.identifier_type and t.identifier_value = c.identifier_value
            where not t.is_shared
            group by 1, 2)
        group by 1""").df()


def _scored_people(truth) -> pd.DataFrame:
    """The people whose messages identity can place, so the policy marts can be scored on them exactly: not the
    brand's test accounts (their identifiers are junk to identity, so a send without a customer id names nobody),
    nor anyone who held a recycled number (a text to it before any source names its next holder is, as far as any
    source says, the next holder's: test_identity scores that, not this module)."""
    persons = pd.read_parquet(truth / "persons.parquet")
    ids = pd.read_parquet(truth / "identifiers.parquet")
    phones = ids[(ids["identifier_type"] == "phone") & ~ids["is_shared"]]
    recycled = phones.groupby("identifier_value")["person_id"].transform("nunique") > 1
    excluded = set(phones.loc[recycled, "person_id"]) | set(persons.loc[persons["is_test_account"], "person_id"])
    return persons.loc[~persons["is_bot"] & ~persons["person_id"].isin(excluded), ["person_id"]]


def _scored(rows: pd.DataFrame, truth) -> pd.DataFrame:
    return rows[rows["person_id"].isin(_scored_people(truth)["person_id"])]


def _score(found: set, truth: set) -> tuple[float, float]:
    hits = len(found & truth)
    return hits / max(len(found), 1), hits / max(len(truth), 1)


def test_every_frequency_breach_is_found_and_nothing_else(policy_world):
    warehouse, truth, _ = policy_world
    expected = _scored(pd.read_parquet(truth / "frequency_breaches.parquet"), truth)
    assert {"cross_channel_cap", "quiet_hours"} <= set(expected["kind"])
    assert expected["is_misfire"].any() and (~expected["is_misfire"]).any()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.register("people", _person_of_customer(con, truth))
        found = con.execute("""
            select p.person_id, v.channel, v.sent_at, v.violation_type, v.messages_in_window
            from marts.fct_frequency_violation as v left join people as p using (customer_id)""").df()
    # Every breach found names a real person; those scored must be exactly the truth's.
    assert found["person_id"].notna().all()
    found = _scored(found, truth)
    key = lambda f, kind: set(zip(f["person_id"], f["channel"], pd.to_datetime(f["sent_at"]), f[kind]))  # noqa: E731
    precision, recall = _score(key(found, "violation_type"), key(expected, "kind"))
    assert (precision, recall) == (1.0, 1.0)
    # The messages that made each breach are counted as the truth counts them.
    assert key(found, "messages_in_window") == key(expected, "messages_in_window")


def test_every_send_after_an_opt_out_is_found_and_nothing_else(policy_world):
    warehouse, truth, _ = policy_world
    expected = _scored(pd.read_parquet(truth / "preference_violations.parquet"), truth)
    assert set(expected["channel"]) == {"email", "sms", "push"}
    assert expected["past_legal_limit"].any() and (~expected["past_legal_limit"]).any()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.register("people", _person_of_customer(con, truth))
        found = con.execute("""
            select p.person_id, v.channel, v.sent_at, v.is_past_legal_limit
            from marts.fct_preference_violation as v left join people as p using (customer_id)""").df()
        rates = con.execute("""select channel, sum(marketing_messages), sum(violating_messages),
                min(compliance_rate), max(compliance_rate)
            from marts.agg_preference_compliance group by 1""").fetchall()
    assert found["person_id"].notna().all()
    key = lambda f, flag: set(zip(f["person_id"], f["channel"], pd.to_datetime(f["sent_at"]), f[flag]))  # noqa: E731
    precision, recall = _score(key(_scored(found, truth), "is_past_legal_limit"), key(expected, "past_legal_limit"))
    assert (precision, recall) == (1.0, 1.0)
    # The compliance rates count every violation the fact table lists.
    by_channel = {c: (sent, bad, low, high) for c, sent, bad, low, high in rates}
    for channel, count in found["channel"].value_counts().items():
        sent, bad, low, high = by_channel[channel]
        assert bad == count and sent > bad
        # A day of nothing but a misfired campaign complies not at all; the campaigns' days fully.
        assert 0 <= low < 1 and high == 1


def test_the_contact_marts_are_published_behind_the_gate(policy_world):
    _, _, published = policy_world
    with duckdb.connect(str(published / "current" / "omnichannel.duckdb"), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    assert set(CONTACT_MARTS) <= tables


def test_stale_list_sends_warn_in_cross_system_agreement_and_still_publish(policy_world):
    _, _, published = policy_world
    manifest = json.loads((published / "manifest.json").read_text())
    agreement = "marts/agg_cross_system_agreement:cross_system_agreement"
    # The sends after a CRM opt-out are what matters to cross-system agreement: it warns (by default it does not
    # block), naming them; nothing else in the world warns.
    assert manifest["checks"]["warned"] == [agreement]
    (what,) = [w["what"] for w in manifest["checks"]["warnings"] if w["check"] == agreement]
    flagged = [part.split() for part in what.split("; ")]
    assert {metric for _, _, metric, *_ in flagged} == {"crm_opt_out_not_respected"}
    assert {channel for channel, *_ in flagged} == {"email", "sms", "push"}


def test_consent_history_agrees_with_current_consent(policy_world):
    warehouse, _, _ = policy_world
    with duckdb.connect(str(warehouse), read_only=True) as con:
        mismatched = con.execute("""
            select count(*) from marts.fct_consent as f
            inner join marts.dim_customer as d using (customer_id)
            where f.is_current and f.status is distinct from case f.channel
                when 'email' then d.email_consent when 'sms' then d.sms_consent
                when 'push' then d.push_consent when 'ads' then d.ads_consent end""").fetchone()[0]
        overlaps = con.execute("""select count(*) from marts.fct_consent as a inner join marts.fct_consent as b
            on a.customer_id = b.customer_id and a.channel = b.channel and a.consent_period_id <> b.consent_period_id
            and a.valid_from < coalesce(b.valid_to, timestamp '9999-01-01') and b.valid_from < coalesce(a.valid_to, timestamp '9999-01-01')
            and a.valid_from <> a.valid_to and b.valid_from <> b.valid_to""").fetchone()[0]
        sources = {
            r[0] for r in con.execute("select distinct split_part(source, ':', 1) from marts.fct_consent").fetchall()
        }
    assert mismatched == 0
    assert overlaps == 0
    assert {"crm", "esp", "sms_keyword"} <= sources


CONTACT_MARTS = [
    "fct_message_pressure",
    "fct_frequency_violation",
    "fct_consent",
    "fct_preference_violation",
    "agg_preference_compliance",
]


@pytest.fixture
def policy_marts(policy_world):
    """The policy world's contact marts in a scratch connection, so a test can break them."""
    con = duckdb.connect()
    con.execute(f"create schema marts; attach '{policy_world[0]}' as world (read_only)")
    for mart in CONTACT_MARTS:
        con.execute(f"create table marts.{mart} as select * from world.marts.{mart}")
    con.execute("detach world")
    yield con
    con.close()


@pytest.mark.parametrize("mart", CONTACT_MARTS)
def test_contact_policy_suites_pass_on_the_world_despite_its_violations(policy_marts, tmp_path, mart):
    from data_quality.gx_runner import SuiteRunner
    from data_quality.validate import validate_batch
    from orchestration.defs.quality import MART_SUITES

    suite = MART_SUITES[mart]
    batch = (
        "all"
        if suite.batch_column is None
        else policy_marts.execute(f"select max({suite.batch_column})::varchar from {suite.table}").fetchone()[0]
    )
    outcome = validate_batch(policy_marts, SuiteRunner(tmp_path), suite, batch)
    assert outcome.rows > 0
    assert outcome.success, [f.describe() for f in outcome.failures]


def test_contact_policy_suites_block_on_wrong_rows(policy_marts, tmp_path):
    from data_quality.gx_runner import SuiteRunner
    from data_quality.validate import validate_batch
    from orchestration.defs.quality import MART_SUITES

    con = policy_marts
    con.execute("update marts.agg_preference_compliance set compliance_rate = 1.5 where channel = 'email'")
    con.execute("""update marts.fct_consent set valid_to = valid_from - interval 1 day
                   where consent_period_id = (select min(consent_period_id) from marts.fct_consent where valid_to is not null)""")
    failed = {}
    for mart in ("agg_preference_compliance", "fct_consent"):
        outcome = validate_batch(con, SuiteRunner(tmp_path), MART_SUITES[mart], "all")
        failed[mart] = {(f.expectation, f.column) for f in outcome.failures}
    assert failed == {
        "agg_preference_compliance": {("expect_column_values_to_be_between", "compliance_rate")},
        "fct_consent": {("expect_column_pair_values_a_to_be_greater_than_b", None)},
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_kind_of_breach_is_injected_in_a_world_of_200(tmp_path, seed):
    import simulator

    simulator.simulate(tmp_path, customers=200, days=3, seed=seed)
    breaches = pd.read_parquet(tmp_path / "_truth" / "frequency_breaches.parquet")
    violations = pd.read_parquet(tmp_path / "_truth" / "preference_violations.parquet")
    assert set(breaches.loc[breaches["is_misfire"], "kind"]) == {"cross_channel_cap", "quiet_hours"}
    assert set(violations["channel"]) == {"email", "sms", "push"}
    assert violations["past_legal_limit"].any() and (~violations["past_legal_limit"]).any()
