"""B-cubed precision and recall of identifier -> customer clustering against the simulator's ground truth.

Every true (identifier, person) pair that the warehouse holds is an item. A recycled phone is two items,
one per owner, each matched to the customer whose ownership period overlaps the owner's the most.
Junk values (guest emails, test accounts) and shared devices belong to no one person, so they are not scored.
"""

from pathlib import Path

import duckdb

# Scored separately: people's own identifiers, and the weak ones (cookies and devices) that guards keep apart.
GROUPS = {
    "people": ("email", "phone", "crm_id", "shop_customer_id", "loyalty_id"),
    "cookies_and_devices": ("cookie", "device", "push_player"),
    "handles_and_clicks": ("social_handle", "click_id"),
}

_MATCH_SQL = """
with truth as (
    select person_id, identifier_type, identifier_value,
        cast(valid_from as timestamp) as valid_from, cast(valid_to as timestamp) as valid_to
    from read_parquet(?)
    where not is_junk and not is_shared
),
predicted as (
    select customer_id, identifier_type, identifier_value,
        coalesce(valid_from, timestamp '1900-01-01') as valid_from,
        coalesce(valid_to, timestamp '2999-01-01') as valid_to
    from {customer_identifier}
),
matched as (
    select t.person_id, t.identifier_type, t.identifier_value, p.customer_id,
        row_number() over (
            partition by t.person_id, t.identifier_type, t.identifier_value
            order by epoch_ms(least(t.valid_to, p.valid_to)) - epoch_ms(greatest(t.valid_from, p.valid_from)) desc,
                     p.customer_id
        ) as overlap_rank
    from truth as t
    inner join predicted as p using (identifier_type, identifier_value)
)
select person_id, identifier_type, identifier_value, customer_id from matched where overlap_rank = 1
"""

_BCUBED_SQL = """
with items as (select * from _matched where identifier_type in ({types})),
pairs as (select customer_id, person_id, count(*) as n from items group by all),
by_customer as (select customer_id, count(*) as n from items group by all),
by_person as (select person_id, count(*) as n from items group by all)
select
    (select count(*) from items) as items,
    sum(p.n * p.n / c.n) / (select count(*) from items) as precision,
    sum(p.n * p.n / t.n) / (select count(*) from items) as recall
from pairs as p
inner join by_customer as c using (customer_id)
inner join by_person as t using (person_id)
"""


_SAME_WORLD_SQL = """
with held as (select distinct identifier_type, identifier_value from {customer_identifier}),
truth as (select distinct identifier_type, identifier_value from read_parquet(?))
select count(*), count(t.identifier_value)
from held as h
left join truth as t using (identifier_type, identifier_value)
"""
# Every identifier a warehouse holds comes from its world's truth (junk and shared ones included); another world
# shares only the sequential ids (CRM, loyalty) that every world numbers alike: about a fifth of them.
MIN_SHARE_IN_TRUTH = 0.5


class TruthMismatch(ValueError):
    """The truth folder is not the world the warehouse was built from."""


def check_same_world(
    con: duckdb.DuckDBPyConnection, truth_dir: Path, customer_identifier: str = "marts.customer_identifier"
) -> tuple[int, int]:
    """(identifiers in the warehouse, of them in the truth); `TruthMismatch` when too few are."""
    truth = Path(truth_dir) / "identifiers.parquet"
    held, in_truth = con.execute(
        _SAME_WORLD_SQL.format(customer_identifier=customer_identifier), [str(truth)]
    ).fetchall()[0]
    if held == 0:
        raise TruthMismatch("the warehouse holds no identifiers: nothing to score")
    if in_truth < MIN_SHARE_IN_TRUTH * held:
        raise TruthMismatch(
            f"{truth_dir} is not the truth of this warehouse's world: only {in_truth:,} of the "
            f"{held:,} identifiers in the warehouse ({in_truth / held:.0%}) are in it"
        )
    return held, in_truth


def score(
    con: duckdb.DuckDBPyConnection, truth_dir: Path, customer_identifier: str = "marts.customer_identifier"
) -> dict[str, dict]:
    """Per group of identifier types: items scored, B-cubed precision and recall."""
    truth = str(Path(truth_dir) / "identifiers.parquet")
    con.execute(
        "create or replace temp table _matched as " + _MATCH_SQL.format(customer_identifier=customer_identifier),
        [truth],
    ).fetchall()
    results = {}
    for group, types in GROUPS.items():
        quoted = ", ".join(f"'{t}'" for t in types)
        items, precision, recall = con.execute(_BCUBED_SQL.format(types=quoted)).fetchall()[0]
        results[group] = {"items": items, "precision": precision, "recall": recall}
    return results


def format_scores(results: dict[str, dict]) -> str:
    lines = [f"{'identifiers':<22}{'items':>10}{'precision':>11}{'recall':>9}"]
    for group, r in results.items():
        if r["items"]:
            lines.append(f"{group:<22}{r['items']:>10}{r['precision']:>11.4f}{r['recall']:>9.4f}")
        else:
            lines.append(f"{group:<22}{0:>10}{'-':>11}{'-':>9}")
    return "\n".join(lines)
