"""Turns event frames into vendor-shaped lines (docs/landing-records.md), in DuckDB SQL for speed.

Each builder returns a frame with: event_id (the source's dedup key), at (UTC), metric (the `_control` counts key),
amount (for `_control` sums, else 0), person (truth), tag (a per-line fault kind or null), line (the exact text written).
"""

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ISO_MS = """strftime("at", '%Y-%m-%dT%H:%M:%S.%gZ')"""
ISO_Z = """strftime("at", '%Y-%m-%dT%H:%M:%SZ')"""


def messy_emails(rng: np.random.Generator, emails: pd.Series) -> np.ndarray:
    """As people type them: capitals, stray spaces, +tags (Arrow kernels: no Python loop per value)."""
    values = emails.to_numpy(dtype=object)
    variant = rng.integers(0, 6, len(values)).astype(np.int8)
    e = pa.array(values, type=pa.string(), from_pandas=True)
    parts = pc.extract_regex(e, r"^(?P<local>[^@]*)@(?P<domain>.*)$")  # null without an @
    local, domain = pc.struct_field(parts, "local"), pc.struct_field(parts, "domain")
    options = [
        e,
        pc.binary_join_element_wise("  ", pc.utf8_capitalize(e), " ", ""),
        pc.coalesce(pc.binary_join_element_wise(local, "+promo@", domain, ""), e),
        pc.utf8_upper(e),
        pc.coalesce(pc.binary_join_element_wise(local, "@", pc.utf8_upper(domain), ""), e),
        e,
    ]
    return pc.choose(pa.array(variant), *options).to_numpy(zero_copy_only=False)


def messy_phones(rng: np.random.Generator, phones: pd.Series) -> np.ndarray:
    """E.164 as typed: national formats with and without punctuation, or E.164 itself."""
    p = phones.fillna("+10000000000").to_numpy(dtype=object).astype(str)
    area, exch, line = np.strings.slice(p, 2, 5), np.strings.slice(p, 5, 8), np.strings.slice(p, 8, None)
    variant = rng.integers(0, 4, len(p))
    out = np.where(variant == 0, p, "")
    out = np.where(
        variant == 1,
        np.char.add(np.char.add(np.char.add("(", area), ") "), np.char.add(np.char.add(exch, "-"), line)),
        out,
    )
    out = np.where(variant == 2, np.char.add(np.char.add(np.char.add(area, "-"), np.char.add(exch, "-")), line), out)
    out = np.where(variant == 3, np.char.add(np.char.add(np.char.add(area, " "), np.char.add(exch, " ")), line), out)
    return np.where(phones.isna().to_numpy(), None, out)


def _run(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, select: str) -> pd.DataFrame:
    """Run a record-shaping select over `frame`; `tag` (a fault kind the manifest lists per line) defaults to null."""
    if "tag" not in frame.columns:
        frame = frame.assign(tag=pd.Series(None, index=frame.index, dtype=object))
    con.register("f", frame)
    out = con.execute(f'select * from ({select}) order by "at", event_id').df()
    con.unregister("f")
    return out


def email(con, f):
    return _run(
        con,
        f,
        """
        select sg_event_id as event_id, "at", event as metric, 0.0 as amount, person, tag,
               -- fields the vendor leaves out (url but on clicks, reason but on bounce/dropped, an unknown customer)
               replace(replace(replace(to_json(struct_pack(sg_event_id := sg_event_id, sg_message_id := sg_message_id,
                   email := email, timestamp := epoch("at")::bigint, event := event,
                   url := case when event = 'click' then 'https://shop.example.com/sale?utm_source=email&utm_medium=email&utm_campaign=' || campaign_id end,
                   reason := case when event = 'bounce' then '550 5.1.1 The email account that you tried to reach does not exist'
                                  when event = 'dropped' then 'Bounced Address' end,
                   useragent := 'Mozilla/5.0 (iPhone; CPU iPhone OS 19_1 like Mac OS X)', ip := '203.0.113.' || (person % 250),
                   campaign_id := campaign_id, customer_id := customer_id))::varchar,
                   ',"url":null', ''), ',"reason":null', ''), ',"customer_id":null', '') as line
        from f""",
    )


def sms(con, f):
    return _run(
        con,
        f,
        """
        select sid as event_id, "at", status as metric, 0.0 as amount, person, tag,
               to_json(struct_pack(sid := sid,
                   "from" := case when direction = 'inbound' then phone else '+15005550006' end,
                   "to" := case when direction = 'inbound' then '+15005550006' else phone end,
                   body := body, status := status, direction := direction,
                   date_sent := strftime("at", '%a, %d %b %Y %H:%M:%S +0000'),
                   num_segments := '1', error_code := case when status = 'failed' then '30003' end,
                   price := '-0.00750', price_unit := 'USD', campaign_id := campaign_id))::varchar as line
        from f""",
    )


def push(con, f):
    return _run(
        con,
        f,
        """
        select notification_id || '|' || player_id || '|' || event as event_id, "at", event as metric, 0.0 as amount,
               person, tag,
               concat_ws(',', notification_id, campaign_id, player_id, coalesce(external_user_id, ''), event,
                         strftime("at" + interval 1 hour, '%Y-%m-%dT%H:%M:%S') || '+01:00') as line
        from f""",
    )


PUSH_HEADER = "notification_id,campaign_id,player_id,external_user_id,event,event_time"


def segment(con, f, app: bool):
    device = (
        (
            "device := struct_pack(id := device_id, advertisingId := 'ad-' || device_id, type := device_type, "
            "model := case when device_type = 'ios' then 'iPhone16,2' else 'Pixel 9' end), "
            "os := struct_pack(name := case when device_type = 'ios' then 'iOS' else 'Android' end, version := '19.1'), "
        )
        if app
        else ""
    )
    return _run(
        con,
        f,
        f"""
        select message_id as event_id, "at", type as metric, 0.0 as amount, person, tag,
               to_json(struct_pack(messageId := message_id, type := type, event := event, name := page_name,
                   anonymousId := anonymous_id, userId := user_id,
                   properties := case when event = 'Order Completed'
                       then to_json(struct_pack(order_id := order_id, revenue := revenue, currency := 'USD'))
                       when event in ('Product Viewed', 'Product Added') then to_json(struct_pack(product_id := 'SKU-' || (person % 40)))
                       else to_json(struct_pack()) end,
                   traits := case when type = 'identify' then to_json(struct_pack(email := traits_email, phone := traits_phone)) end,
                   context := struct_pack({device}
                       page := struct_pack(url := url, referrer := referrer, path := path),
                       campaign := case when campaign_source is not null then struct_pack(
                           source := campaign_source, medium := campaign_medium, name := campaign_name) end,
                       userAgent := user_agent, ip := '198.51.100.' || (abs(person) % 250)),
                   timestamp := {ISO_MS}, sentAt := {ISO_MS},
                   receivedAt := strftime("at" + interval 1 second, '%Y-%m-%dT%H:%M:%S.%gZ')))::varchar as line
        from f""",
    )


def ads(con, f):
    return _run(
        con,
        f,
        """
        select click_id as event_id, "at", 'click' as metric, 0.0 as amount, person, tag,
               concat_ws(',', click_id, network, campaign_id, campaign_id || '_campaign', 'group-' || (person % 3),
                         strftime("at", '%Y-%m-%dT%H:%M:%SZ'), cost_micros::varchar) as line
        from f""",
    )


ADS_HEADER = "click_id,network,campaign_id,campaign_name,ad_group,click_time,cost_micros"


def social(con, f):
    return _run(
        con,
        f,
        """
        select event_id, "at", action as metric, 0.0 as amount, person, tag,
               to_json(struct_pack(platform := platform, event_id := event_id, handle := handle, action := action,
                   post_id := post_id, campaign_id := campaign_id,
                   created_time := strftime("at", '%Y-%m-%dT%H:%M:%S') || '+0000',
                   field_data := case when action = 'lead_submit' then [
                       struct_pack(name := 'email', "values" := [lead_email]),
                       struct_pack(name := 'phone_number', "values" := [lead_phone])] end))::varchar as line
        from f""",
    )


def _ny(column: str) -> str:
    """ISO 8601 with the shop's New York offset (DST-aware), as Shopify writes it."""
    local = f"timezone('America/New_York', timezone('UTC', {column}))"
    offset = f"datediff('hour', {column}, {local})"
    return (
        f"strftime({local}, '%Y-%m-%dT%H:%M:%S') || case when {offset} < 0 then '-' else '+' end "
        f"|| lpad(abs({offset})::varchar, 2, '0') || ':00'"
    )


def orders(con, f):
    return _run(
        con,
        f,
        f"""
        select order_id::varchar || '|' || {_ny("updated_at")} as event_id, updated_at as "at", created_at, order_id,
               'orders' as metric, total_price as amount, person, tag, version,
               to_json(struct_pack(id := order_id, name := '#' || order_id % 100000, email := email, phone := phone,
                   created_at := {_ny("created_at")}, updated_at := {_ny("updated_at")},
                   total_price := printf('%.2f', total_price), currency := 'USD', source_name := source_name,
                   customer := case when shop_customer_id is not null then struct_pack(id := shop_customer_id::bigint) end,
                   landing_site := landing_site,
                   line_items := [struct_pack(sku := 'SKU-' || (person % 40), quantity := 1, price := printf('%.2f', total_price))],
                   cancelled_at := case when cancelled_at is not null then {_ny("cancelled_at")} end,
                   refunds := case when refund_amount > 0 then [struct_pack(created_at := {_ny("updated_at")},
                       transactions := [struct_pack(kind := 'refund', status := 'success', amount := printf('%.2f', refund_amount))])]
                       else [] end))::varchar as line
        from f""",
    )


def pos(con, f):
    return _run(
        con,
        f,
        """
        select receipt_id as event_id, "at", type as metric,
               case when type = 'sale' then total_cents else -total_cents end / 100.0 as amount, person, tag,
               concat_ws(',', store_id, receipt_id, strftime(local_time, '%Y-%m-%d %H:%M:%S'), store_tz,
                         coalesce(loyalty_id, ''), coalesce(email, ''), coalesce(phone, ''), total_cents::varchar,
                         'USD', type, coalesce(original_receipt_id, '')) as line
        from f""",
    )


POS_HEADER = (
    "store_id,receipt_id,local_time,store_tz,loyalty_id,email,phone,total_cents,currency,type,original_receipt_id"
)


def support(con, f):
    return _run(
        con,
        f,
        f"""
        select ticket_id::varchar as event_id, "at", 'ticket' as metric, 0.0 as amount, person, tag,
               to_json(struct_pack(id := ticket_id, created_at := {ISO_Z},
                   updated_at := strftime("at" + interval 2 hour, '%Y-%m-%dT%H:%M:%SZ'),
                   via := struct_pack(channel := via), requester := struct_pack(email := email, phone := phone),
                   subject := 'Question about order #' || order_id % 100000, tags := ['order'],
                   satisfaction_rating := struct_pack(score := score), status := 'solved'))::varchar as line
        from f""",
    )


def crm_customers(con, f):
    return _run(
        con,
        f,
        """
        select customer_id || '|' || coalesce(email, '') || '|' || coalesce(phone, '') || '|' || created_text as event_id,
               "at", 'customers' as metric, 0.0 as amount, person, tag,
               concat_ws(',', customer_id, coalesce(email, ''), coalesce(phone, ''), first_name, last_name,
                         strftime(birth_date, '%Y-%m-%d'), gender, coalesce(loyalty_id, ''),
                         coalesce(instagram_handle, ''), created_text) as line
        from (select *, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') as created_text from f)""",
    )


CRM_HEADER = "customer_id,email,phone,first_name,last_name,birth_date,gender,loyalty_id,instagram_handle,created_at"


def crm_consents(con, f):
    # `changed_at` is when the change happened, `at` when the CRM exported it (an old change is in the first export).
    changed = """strftime(coalesce("changed_at", "at"), '%Y-%m-%dT%H:%M:%SZ')"""
    return _run(
        con,
        f,
        f"""
        select coalesce(customer_id, '') || '|' || coalesce(email, '') || '|' || coalesce(phone, '') || '|' || channel
               || '|' || status || '|' || {changed} as event_id, "at", 'consents' as metric, 0.0 as amount, person, tag,
               to_json(struct_pack(customer_id := customer_id, email := email, phone := phone, channel := channel,
                   status := status, changed_at := {changed}, source := consent_source))::varchar as line
        from f""",
    )
