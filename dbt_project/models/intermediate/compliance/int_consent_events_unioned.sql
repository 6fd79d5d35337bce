{#- Every consent change heard, one row per change, resolved to the customer who holds the identifier it names
    (so, after identities merge, an opt-out on any of a customer's identifiers is the customer's): the CRM's
    consent log (by CRM id, else email, else phone within its ownership period), STOP/START texts, and the ESP's
    unsubscribes, group unsubscribes, spam reports and group resubscribes. dim_customer's current consent and
    fct_consent's history both read it. -#}
with identifiers as (
    select * from {{ ref('customer_identifier') }}
),

crm as (
    select
        event_id, customer_id as crm_id, email, phone, channel, consent_status, event_at,
        'crm:' || coalesce(consent_source, 'unknown') as consent_source
    from {{ ref('stg_crm__consents') }}
),

events as (
    select
        i.customer_id, c.channel, c.consent_status, c.event_at, c.consent_source,
        'crm_consent:' || c.event_id as record_id, 'crm_id' as identifier_type
    from crm as c
    inner join identifiers as i on i.identifier_type = 'crm_id' and c.crm_id = i.identifier_value
    union all
    select
        i.customer_id, c.channel, c.consent_status, c.event_at, c.consent_source,
        'crm_consent:' || c.event_id, 'email'
    from crm as c
    inner join identifiers as i on i.identifier_type = 'email' and c.email = i.identifier_value
    where c.crm_id is null
    union all
    select
        i.customer_id, c.channel, c.consent_status, c.event_at, c.consent_source,
        'crm_consent:' || c.event_id, 'phone'
    from crm as c
    inner join identifiers as i
        on i.identifier_type = 'phone' and c.phone = i.identifier_value
        and (i.valid_from is null or c.event_at >= i.valid_from) and (i.valid_to is null or c.event_at < i.valid_to)
    where c.crm_id is null and c.email is null
    union all
    -- The carriers' keywords (stg_sms__messages.consent_change): STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT; START, UNSTOP.
    select
        i.customer_id, 'sms', s.consent_change, s.event_at, 'sms_keyword:' || upper(trim(s.body)),
        'sms:' || s.event_id, 'phone'
    from {{ ref('stg_sms__messages') }} as s
    inner join identifiers as i
        on i.identifier_type = 'phone' and s.customer_phone = i.identifier_value
        and (i.valid_from is null or s.event_at >= i.valid_from) and (i.valid_to is null or s.event_at < i.valid_to)
    where s.consent_change is not null
    union all
    select
        i.customer_id, 'email',
        case when e.event_type = 'group_resubscribe' then 'opt_in' else 'opt_out' end, e.event_at,
        'esp:' || e.event_type, 'email:' || e.event_id, 'email'
    from {{ ref('stg_email__events') }} as e
    inner join identifiers as i on i.identifier_type = 'email' and e.email = i.identifier_value
    where e.event_type in ('unsubscribe', 'group_unsubscribe', 'spamreport', 'group_resubscribe')
)

select * from events
