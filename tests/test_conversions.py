"""fct_conversion against the simulator's true purchases: each purchase once, revenue to the cent, the right buyer."""

from decimal import Decimal

# The simulator's purchases with its money as decimal(18, 2): it keeps dollars as doubles rounded to cents.
TRUTH_SQL = """
    select order_ref, person_id, purchase_channel, cast(converted_at as timestamp) as converted_at, currency,
        cast(round(gross_revenue, 2) as decimal(18, 2)) as gross_revenue,
        cast(round(net_revenue, 2) as decimal(18, 2)) as net_revenue
    from read_parquet(?)
"""

# Each customer is the true person owning most of its identifiers (not shared), matched within the validity
# periods as simulator/scoring/identity.py does. Junk stays in: the truth marks every identifier of a test
# account as junk, yet test accounts buy, and their purchases are in the truth under their person.
CUSTOMER_PERSON_SQL = """
    with truth as (
        select person_id, identifier_type, identifier_value,
            cast(valid_from as timestamp) as valid_from, cast(valid_to as timestamp) as valid_to
        from read_parquet(?)
        where not is_shared
    ),
    owned as (
        select c.customer_id, t.person_id, count(*) as identifiers
        from marts.customer_identifier as c
        inner join truth as t using (identifier_type, identifier_value)
        where (c.valid_from is null or c.valid_from < t.valid_to) and (c.valid_to is null or c.valid_to > t.valid_from)
        group by all
    )
    select customer_id, first(person_id order by identifiers desc, person_id) as person_id
    from owned
    group by customer_id
"""


def _truth(world) -> str:
    return str(world.truth / "purchases.parquet")


def test_every_true_purchase_is_one_conversion(world):
    rows = world.query(
        f"""
        with truth as ({TRUTH_SQL})
        select
            count(*) filter (where f.order_ref is null) as missing,
            count(*) filter (where t.order_ref is null) as extra,
            count(*) filter (where f.order_ref is not null and t.order_ref is not null) as matched,
            count(*) filter (where f.purchase_channel <> t.purchase_channel) as wrong_channel,
            count(*) filter (where f.converted_at <> t.converted_at) as wrong_time,
            count(*) filter (where f.currency <> t.currency) as wrong_currency
        from marts.fct_conversion as f
        full outer join truth as t on f.order_ref = t.order_ref
    """,
        [_truth(world)],
    )
    missing, extra, matched, wrong_channel, wrong_time, wrong_currency = rows[0]
    assert matched > 50
    assert (missing, extra) == (0, 0)
    assert (wrong_channel, wrong_time, wrong_currency) == (0, 0, 0)
    ((conversions, ids, refs),) = world.query(
        "select count(*), count(distinct conversion_id), count(distinct order_ref) from marts.fct_conversion"
    )
    assert conversions == ids == refs == matched
    # Orders and their Order Completed events were both delivered and merged: seen twice, counted once.
    merged = world.query("""
        select purchase_channel, count(*) from marts.fct_conversion
        where source_records like 'orders:%,web:%' or source_records like 'orders:%,app:%'
        group by all
    """)
    assert {channel for channel, _ in merged} == {"web", "app"}


def test_revenue_equals_the_true_purchase_revenue_exactly(world):
    totals = world.query(
        f"""
        with truth as ({TRUTH_SQL})
        select
            coalesce(t.purchase_channel, f.purchase_channel) as purchase_channel,
            sum(t.net_revenue) as true_revenue,
            sum(f.revenue) as revenue,
            sum(t.gross_revenue) as true_gross,
            sum(f.gross_revenue) as gross,
            count(*) filter (where f.revenue is distinct from t.net_revenue) as orders_off,
            count(*) filter (where f.refunded_revenue is distinct from t.gross_revenue - t.net_revenue) as refunds_off
        from marts.fct_conversion as f
        full outer join truth as t on f.order_ref = t.order_ref
        group by rollup (1)
        order by 1 nulls last
    """,
        [_truth(world)],
    )
    by_channel = {channel: row for channel, *row in totals}
    assert set(by_channel) == {"web", "app", "store", None}
    for channel, (true_revenue, revenue, true_gross, gross, orders_off, refunds_off) in by_channel.items():
        assert isinstance(revenue, Decimal), "revenue is decimal, summed exactly"
        assert revenue == true_revenue, (channel or "total", revenue, true_revenue)
        assert gross == true_gross, (channel or "total", gross, true_gross)
        assert (orders_off, refunds_off) == (0, 0), channel or "total"
    # The world exercises every netting rule: refunds, cancellations and store returns.
    ((refunded, cancelled, returned),) = world.query("""
        select count(*) filter (where purchase_channel <> 'store' and refunded_revenue > 0 and not is_cancelled),
            count(*) filter (where is_cancelled and revenue = 0),
            count(*) filter (where purchase_channel = 'store' and refunded_revenue > 0)
        from marts.fct_conversion
    """)
    assert refunded > 0 and cancelled > 0 and returned > 0


def test_conversions_belong_to_the_true_buyer(world):
    rows = world.query(
        f"""
        with truth as ({TRUTH_SQL}),
        customer_person as ({CUSTOMER_PERSON_SQL})
        select
            t.purchase_channel,
            count(*) as purchases,
            count(f.customer_id) as with_customer,
            count(*) filter (where cp.person_id = t.person_id) as right_person
        from truth as t
        inner join marts.fct_conversion as f on f.order_ref = t.order_ref
        left join customer_person as cp on f.customer_id = cp.customer_id
        group by all
        order by 1
    """,
        [_truth(world), str(world.truth / "identifiers.parquet")],
    )
    print("\nconversions assigned to their true buyer (channel, purchases, with a customer, right person):")
    for row in rows:
        print("  ", *row)
    by_channel = {channel: (purchases, assigned, right) for channel, purchases, assigned, right in rows}
    # Every online order names its buyer (email, shop customer id); a till sale may be anonymous.
    for channel in ("web", "app"):
        purchases, assigned, right = by_channel[channel]
        assert assigned == purchases, channel
    purchases, assigned, _ = by_channel["store"]
    assert assigned >= 0.6 * purchases
    assigned = sum(a for _, a, _ in by_channel.values())
    right = sum(r for _, _, r in by_channel.values())
    assert right / assigned >= 0.98, (right, assigned)


def test_anonymous_store_sales_carry_no_identifier_that_names_a_customer(world):
    # A sale without a customer had nothing to go on: no identifier on the sale or its returns has a customer.
    rows = world.query("""
        with anonymous_records as (
            select 'pos:' || p.event_id as record_id
            from marts.fct_conversion as f
            inner join staging.stg_pos__transactions as p
                on f.order_ref = p.receipt_id or f.order_ref = p.original_receipt_id
            where f.customer_id is null and f.purchase_channel = 'store'
        )
        select a.record_id, o.identifier_type, o.identifier_value
        from anonymous_records as a
        inner join intermediate.int_identity_occurrences as o on a.record_id = o.record_id
        inner join marts.customer_identifier as c
            on o.identifier_type = c.identifier_type and o.identifier_value = c.identifier_value
    """)
    assert rows == []


def test_a_shared_identifier_decides_a_record_only_when_nothing_else_does(world):
    rows = world.query("""
        with unshared_matches as (
            select distinct o.record_id
            from intermediate.int_identity_occurrences as o
            inner join marts.customer_identifier as c
                on o.identifier_type = c.identifier_type and o.identifier_value = c.identifier_value
                and not c.is_shared
                and (c.valid_from is null or o.occurred_at >= c.valid_from)
                and (c.valid_to is null or o.occurred_at < c.valid_to)
        )
        select r.matched_is_shared, count(*), count(u.record_id)
        from intermediate.int_records_customers as r
        left join unshared_matches as u on r.record_id = u.record_id
        where r.customer_id is not null
        group by all
    """)
    counts = {shared: (records, with_unshared) for shared, records, with_unshared in rows}
    assert counts[True][0] > 0, "the default world has records seen only on a shared family device"
    assert counts[True][1] == 0
    assert counts[False][1] == counts[False][0]


def test_bot_records_have_no_customer_and_are_counted(world):
    ((bot_records, in_model),) = world.query("""
        select count(distinct o.record_id), count(distinct r.record_id)
        from intermediate.int_identity_occurrences as o
        left join intermediate.int_records_customers as r on o.record_id = r.record_id
        where o.is_bot
    """)
    assert bot_records > 0 and in_model == 0
    ((staged_bots,),) = world.query("""
        select (select count(*) from staging.stg_web__events where is_bot_user_agent)
             + (select count(*) from staging.stg_app__events where is_bot_user_agent)
    """)
    assert staged_bots == bot_records
