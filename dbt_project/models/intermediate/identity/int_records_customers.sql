{#- The customer of every staged record that carries an identifier: the customer of its most trusted identifier
    that belongs to one (junk and bot-only identifiers belong to no one). Shared identifiers (a family tablet)
    rank after every other, so they decide only a record that has nothing else; a recycled phone counts for the
    owner whose ownership period holds the record's time. Bot records (a bot user agent) are left out. -#}
{%- set priority = var('identity_priority') -%}

with occurrences as (
    select record_id, source, occurred_at, identifier_type, identifier_value
    from {{ ref('int_identity_occurrences') }}
    where not is_bot
),

identifier_periods as (
    -- period_key names an identifier's ownership period with one integer (ownership_period < 100).
    select
        node_id * 100 + epoch as period_key,
        identifier_type,
        identifier_value,
        valid_from,
        valid_to,
        is_shared,
        customer_id,
        case identifier_type {%- for t, p in priority.items() %} when '{{ t }}' then {{ p }}{% endfor %} end
            as priority
    from {{ ref('int_identity_customer_ids') }}
),

matched as (
    -- The one string join: each occurrence to its identifier's period. The key ranks non-shared before shared,
    -- then by trust, and ends in the period, so the smallest key per record names the winner.
    select
        o.record_id,
        o.source,
        (case when p.is_shared then 100 else 0 end + p.priority) * cast(100000000000000 as bigint)
        + p.period_key as match_key
    from occurrences as o
    left join identifier_periods as p
        on o.identifier_type = p.identifier_type
        and o.identifier_value = p.identifier_value
        and (p.valid_from is null or o.occurred_at >= p.valid_from)
        and (p.valid_to is null or o.occurred_at < p.valid_to)
),

ranked as (
    select
        record_id,
        min(source) as source,
        min(match_key) % cast(100000000000000 as bigint) as period_key
    from matched
    group by record_id
)

-- Back from the winning period to its customer on an integer key, once per record.
select
    r.record_id,
    r.source,
    p.customer_id,
    p.identifier_type as matched_identifier_type,
    p.priority as matched_priority,
    p.is_shared as matched_is_shared
from ranked as r
left join identifier_periods as p on r.period_key = p.period_key
