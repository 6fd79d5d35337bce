{#- Every marketing message sent on a channel while its customer was opted out of it, once var('consent_grace_hours')
    had passed since the opt-out; is_past_legal_limit when it was also sent after the legal limit for honouring it
    (var('consent_legal_limit_business_days') per channel: 10 business days for email under CAN-SPAM and for SMS
    under the FCC's 2025 revocation rule; weekends excluded, public holidays not), counted from the opt-out's UTC
    day. Transactional messages may still be sent. -#}
{%- set grace_hours = var('consent_grace_hours') | int -%}
{%- set limits = var('consent_legal_limit_business_days') or {} -%}

with opt_outs as (
    select * from {{ ref('fct_consent') }}
    where status = 'opt_out'
),

violations as (
    select
        m.touchpoint_id, m.customer_id, m.channel, m.campaign_id, m.sent_at,
        o.valid_from as opted_out_at, o.source as opt_out_source, o.consent_period_id,
        cast(o.valid_from as date) as opted_out_on
    from {{ ref('int_messages_sent') }} as m
    inner join opt_outs as o
        on m.customer_id = o.customer_id and m.channel = o.channel
        and m.sent_at >= o.valid_from + interval '{{ grace_hours }} hours'
        and (o.valid_to is null or m.sent_at < o.valid_to)
    where m.is_marketing
),

with_deadline as (
    select
        *,
        case channel {%- for c, days in limits.items() %} when '{{ c }}' then {{ days | int }}{% endfor %} end
            as legal_limit_business_days,
        -- A weekend opt-out counts from the Friday before; then every 5 business days are 7 calendar days.
        extract(isodow from opted_out_on) as opt_out_isodow
    from violations
),

deadlines as (
    select
        *,
        case when legal_limit_business_days is not null then
                cast(
                    opted_out_on
                    - cast(greatest(opt_out_isodow - 5, 0) as integer)
                    + cast(
                        legal_limit_business_days
                        + 2 * floor((least(opt_out_isodow, 5) - 1 + legal_limit_business_days) / 5) as integer
                    )
                    as date
                )
        end as legal_deadline_on
    from with_deadline
)

select
    touchpoint_id,
    customer_id,
    channel,
    campaign_id,
    sent_at,
    cast(sent_at as date) as violation_date,
    opted_out_at,
    opt_out_source,
    consent_period_id,
    {{ dbt.datediff('opted_out_at', 'sent_at', 'second') }} / 3600.0 as hours_after_opt_out,
    legal_limit_business_days,
    legal_deadline_on,
    coalesce(cast(sent_at as date) > legal_deadline_on, false) as is_past_legal_limit
from deadlines
