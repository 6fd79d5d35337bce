{{ staged_by_delivery_day('sms') }}
with source as (
    select * from {{ source('raw', 'sms') }}
    where not _is_duplicate{{ restaged_days_filter('sms') }}
),

typed as (
    select
        _event_id as event_id,
        {{ json_str('record', 'from') }} as from_raw,
        {{ json_str('record', 'to') }} as to_raw,
        case when {{ json_str('record', 'direction') }} = 'inbound' then 'inbound' else 'outbound' end as direction,
        {{ json_str('record', 'direction') }} as twilio_direction,
        {{ json_str('record', 'status') }} as status,
        {{ json_str('record', 'body') }} as body,
        {{ safe_cast(json_str('record', 'num_segments'), 'integer') }} as num_segments,
        {{ safe_cast(json_str('record', 'price'), 'decimal(18, 5)') }} as price,
        {{ json_str('record', 'error_code') }} as error_code,
        {{ json_str('record', 'campaign_id') }} as campaign_id,
        {{ rfc2822_to_utc(json_str('record', 'date_sent')) }} as event_at,
        {{ lineage_columns() }}
    from source
),

with_customer as (
    select
        *,
        -- The customer is the far end: the sender of an inbound message, the recipient of ours.
        case when direction = 'inbound' then from_raw else to_raw end as customer_phone_raw,
        case
            when direction = 'inbound' and upper(trim(body)) in ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT') then 'opt_out'
            when direction = 'inbound' and upper(trim(body)) in ('START', 'YES', 'UNSTOP') then 'opt_in'
        end as consent_change
    from typed
)

select
    c.event_id, c.direction, c.twilio_direction, c.status, c.body, c.consent_change,
    c.customer_phone_raw, p.e164 as customer_phone, c.from_raw, c.to_raw,
    c.num_segments, c.price, c.error_code, c.campaign_id,
    c.event_at, cast(c.event_at as date) as event_date,
    c.source_file, c.source_line, c.delivery_date, c.loaded_at
from with_customer as c
{{ phone_lookup_join('p', 'c.customer_phone_raw') }}
