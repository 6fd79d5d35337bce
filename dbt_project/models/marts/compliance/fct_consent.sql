{#- The consent history per customer and channel: one row per period in which the status held, from valid_from
    to valid_to (NULL: still holds), with the source that set it (crm:<source>, esp:<event>, sms_keyword:<body>)
    and how many changes heard it. (The records themselves are in int_consent_events_unioned: a CRM consent's
    event id holds its address, which a published mart must not.) Repeated changes to the same status extend the period. Changes at the same
    instant are ordered opt_out before opt_in, as dim_customer reads them, so the current period's status is
    dim_customer's <channel>_consent. -#}
with events as (
    select * from {{ ref('int_consent_events_unioned') }}
),

ordered as (
    select
        *,
        case when lag(consent_status)
                    over (
                        partition by customer_id, channel order by event_at asc, consent_status desc, record_id asc
                    )
                = consent_status then 0
            else 1
        end as starts_period
    from events
),

numbered as (
    select
        *,
        sum(starts_period) over (
            partition by customer_id, channel order by event_at asc, consent_status desc, record_id asc
            rows between unbounded preceding and current row
        ) as period_number
    from ordered
),

periods as (
    select
        customer_id,
        channel,
        period_number,
        min(consent_status) as status,
        min(event_at) as valid_from,
        count(*) as changes,
        min(consent_source) filter (where starts_period = 1) as source
    from numbered
    group by 1, 2, 3
)

select
    {{ dbt.hash("customer_id || '|' || channel || '|' || cast(period_number as " ~ dbt.type_string() ~ ")") }}
        as consent_period_id,
    customer_id,
    channel,
    status,
    valid_from,
    lead(valid_from) over (partition by customer_id, channel order by period_number) as valid_to,
    source,
    changes,
    lead(valid_from) over (partition by customer_id, channel order by period_number) is null as is_current
from periods
