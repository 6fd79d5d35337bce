-- Every ESP send tagged with a customer_id, and what the CRM says of the address it went to.
-- The comparison reads the CRM's own rows, never identity: the ESP's customer_id links its address into that
-- customer's identity, so an identity-based comparison would always agree.
with events as (
    select event_id, message_id, event_type, event_date, email, customer_id, source_file, source_line
    from {{ ref('stg_email__events') }}
),

-- The ESP repeats its custom args on every event of a message; an event without one is an export gap, so a
-- message carries the customer_id any of its events carries.
message_tags as (
    select message_id, min(customer_id) as customer_id
    from events
    where message_id is not null and customer_id is not null
    group by message_id
),

sends as (
    select
        e.event_id, e.message_id, e.event_date, e.email, coalesce(e.customer_id, t.customer_id) as customer_id,
        e.source_file, e.source_line
    from events as e
    left join message_tags as t on e.message_id = t.message_id
    where e.event_type = 'processed' and coalesce(e.customer_id, t.customer_id) is not null
),

crm_rows as (
    select customer_id, email, delivery_date, source_file, source_line
    from {{ ref('stg_crm__customer_rows') }}
    where customer_id is not null
),

-- A customer's consecutive rows with one address make one holding period, from the day the CRM first listed it
-- to the day it listed another. The CRM dates a change to the day, not the hour: on that day both count.
previous_addresses as (
    select
        customer_id, email, delivery_date, source_file, source_line,
        lag(email) over (partition by customer_id order by delivery_date, source_file, source_line) as previous_email
    from crm_rows
),

address_changes as (
    select
        customer_id, email, delivery_date, source_file, source_line,
        case when email = previous_email or (email is null and previous_email is null) then 0 else 1 end as starts_period
    from previous_addresses
),

numbered as (
    select
        customer_id, email, delivery_date,
        sum(starts_period) over (
            partition by customer_id order by delivery_date, source_file, source_line
            rows between unbounded preceding and current row
        ) as period
    from address_changes
),

periods as (
    select customer_id, email, period, min(delivery_date) as held_from
    from numbered
    group by customer_id, email, period
),

holdings as (
    select
        customer_id, email, held_from,
        lead(held_from) over (partition by customer_id order by period) as held_until
    from periods
),

crm_customers as (
    select distinct customer_id from crm_rows
),

-- Each send beside every CRM customer who ever held its address: an address has one holder or a few.
compared as (
    select
        s.event_id,
        h.customer_id as holder,
        h.customer_id = s.customer_id as own,
        h.held_from <= s.event_date and (h.held_until is null or h.held_until >= s.event_date) as held_that_day,
        h.held_from > s.event_date as held_later,
        h.held_until < s.event_date as held_earlier
    from sends as s
    inner join holdings as h on s.email = h.email
),

flags as (
    select
        event_id,
        bool_or(own and held_that_day) as own_current,
        bool_or(not own and held_that_day) as other_current,
        bool_or(own and held_later) as own_later,
        bool_or(own and held_earlier) as own_earlier,
        bool_or(not own) as other_ever,
        min(case when not own and held_that_day then holder end) as current_holder,
        min(case when not own then holder end) as any_other_holder
    from compared
    group by event_id
),

classified as (
    select
        s.event_id,
        s.message_id,
        s.event_date,
        s.customer_id,
        s.email,
        case
            when c.customer_id is null then 'customer_unknown_to_crm'
            when coalesce(f.own_current, false) then 'crm_address'
            -- Mail tagged for this customer reaches the inbox of another: the disagreement that matters.
            when coalesce(f.other_current, false) then 'held_by_other_customer'
            -- The CRM lists the address for this customer from a later day: the ESP heard of it first.
            when coalesce(f.own_later, false) then 'crm_address'
            when coalesce(f.own_earlier, false) then 'stale'
            when coalesce(f.other_ever, false) then 'held_by_other_customer'
            else 'unknown_to_crm'
        end as address_case,
        coalesce(f.current_holder, f.any_other_holder) as other_holder,
        s.source_file,
        s.source_line
    from sends as s
    left join crm_customers as c on s.customer_id = c.customer_id
    left join flags as f on s.event_id = f.event_id
)

select
    event_id, message_id, event_date, customer_id, email, address_case,
    case when address_case = 'held_by_other_customer' then other_holder end as other_customer_id,
    source_file, source_line
from classified
