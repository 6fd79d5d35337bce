-- Opt-outs propagated from the CRM to the channels: per channel and day, the customers whose CRM opt-out was
-- binding (past the grace period, `consent_grace_hours`) and how many of them the channel still messaged.

-- Only addresses and numbers that ever named exactly one CRM customer map to one: a recycled number held by
-- two customers in the CRM's history cannot say whose opt-out or whose message it was.
with customer_history as (
    select customer_id, email, phone, delivery_date from {{ ref('stg_crm__customer_rows') }}
),

email_owner as (
    select email, min(customer_id) as customer_id from customer_history
    where email is not null
    group by email
    having count(distinct customer_id) = 1
),

phone_owner as (
    select phone, min(customer_id) as customer_id, min(delivery_date) as first_listed_on
    from customer_history
    where phone is not null
    group by phone
    having count(distinct customer_id) = 1
),

-- The CRM tells only the day a number reached its owner, not the hour: a number first listed after the first
-- export (a new or recycled number) is its owner's from the next day; texts on the handover day may be the
-- previous holder's.
phone_ownership as (
    select
        phone,
        customer_id,
        case when first_listed_on > (select min(delivery_date) from customer_history)
                then {{ dbt.dateadd('day', 1, 'first_listed_on') }}
        end as owned_from
    from phone_owner
),

consent_changes as (
    select
        c.channel, c.consent_status, c.event_at as changed_at,
        coalesce(c.customer_id, eo.customer_id, po.customer_id) as customer_id
    from {{ ref('stg_crm__consents') }} as c
    left join email_owner as eo on c.customer_id is null and c.email = eo.email
    left join phone_owner as po on c.customer_id is null and c.phone = po.phone
),

latest_consent as (
    select
        customer_id, channel, consent_status, changed_at,
        row_number() over (partition by customer_id, channel order by changed_at desc) as change_rank
    from consent_changes
    where customer_id is not null
),

opted_out as (
    select
        customer_id, channel,
        {{ dbt.dateadd('hour', var('consent_grace_hours', 24), 'changed_at') }} as binding_from
    from latest_consent
    where change_rank = 1 and consent_status = 'opt_out'
),

-- Mail reaches whoever the CRM says holds the address; an address the CRM never held (a second one) reaches the
-- customer the ESP tagged.
sends as (
    select 'email' as channel, coalesce(eo.customer_id, e.customer_id) as customer_id, e.event_at, e.event_date
    from {{ ref('stg_email__events') }} as e
    left join email_owner as eo on e.email = eo.email
    where e.event_type = 'processed' and coalesce(eo.customer_id, e.customer_id) is not null
    union all
    select 'sms', po.customer_id, s.event_at, s.event_date
    from {{ ref('stg_sms__messages') }} as s
    inner join phone_ownership as po
        on s.customer_phone = po.phone and (po.owned_from is null or s.event_date >= cast(po.owned_from as date))
    where s.direction = 'outbound'
    union all
    select 'push', p.external_user_id, p.event_at, p.event_date
    from {{ ref('stg_push__events') }} as p
    where p.event_type = 'sent' and p.external_user_id is not null
),

send_days as (
    select distinct channel, event_date from sends
),

bound_per_day as (
    select d.channel, d.event_date, count(o.customer_id) as opted_out_customers
    from send_days as d
    left join opted_out as o
        on d.channel = o.channel and cast(o.binding_from as date) <= d.event_date
    group by 1, 2
),

violations as (
    select s.channel, s.event_date, count(distinct s.customer_id) as messaged_after_opt_out
    from sends as s
    inner join opted_out as o on s.customer_id = o.customer_id and s.channel = o.channel
    where s.event_at > o.binding_from
    group by 1, 2
)

select
    b.channel,
    b.event_date,
    'crm_opt_out_not_respected' as metric,
    coalesce(v.messaged_after_opt_out, 0) as numerator,
    b.opted_out_customers as denominator
from bound_per_day as b
left join violations as v on b.channel = v.channel and b.event_date = v.event_date
