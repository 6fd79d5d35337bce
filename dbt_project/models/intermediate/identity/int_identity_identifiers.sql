{#- One row per distinct identifier: a graph node id, when and where it was seen, and the guards that keep it
    from bridging customers (junk on the blocklist, shared past its limit, seen only from bots). -#}
{%- set priority = var('identity_priority') -%}
{%- set blocklist = var('identity_blocklist') -%}
{%- set limits = var('identity_shared_limits') -%}
{%- set strong_types = var('identity_strong_types') -%}
{%- set all_sources = identity_record_specs() | map(attribute=0) | list | sort -%}
{#- Only records of sources that hold a weak identifier can show one with a strong identifier. -#}
{%- set weak_sources = identity_sources_with(limits.keys() | list) -%}
{%- set occurrences = ref('int_identity_occurrences') -%}

with per_identifier as (
    -- The occurrences table is read where needed, not through a CTE: a CTE used twice is materialized.
    select
        identifier_type,
        identifier_value,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        min(delivery_date) as first_delivery_date,
        count(*) as occurrences,
        min(case when is_bot then 1 else 0 end) = 1 as is_bot,
        -- One bit per source: a bitwise or is far cheaper than a distinct list of strings.
        bit_or(case source
            {%- for source in all_sources %} when '{{ source }}' then {{ 2 ** loop.index0 }}{% endfor %}
        end) as source_bits
    from {{ occurrences }}
    group by identifier_type, identifier_value
),

guarded as (
    select
        *,
        case identifier_type
            {%- for identifier_type, patterns in blocklist.items() if patterns %}
            when '{{ identifier_type }}' then
                {%- for pattern in patterns %} {{ regex_matches('identifier_value', pattern) }}{{ " or" if not loop.last }}{% endfor %}
            {%- endfor %}
            else false
        end as is_junk
    from per_identifier
),

strong_in_record as (
    select o.record_id, o.identifier_type, o.identifier_value
    from {{ occurrences }} as o
    inner join guarded as g
        on o.identifier_type = g.identifier_type and o.identifier_value = g.identifier_value
    where o.identifier_type in ({% for t in strong_types %}'{{ t }}'{{ ", " if not loop.last }}{% endfor %})
        and o.source in ({% for s in weak_sources %}'{{ s }}'{{ ", " if not loop.last }}{% endfor %})
        and not g.is_junk
),

weak_occurrences as (
    select record_id, identifier_type, identifier_value
    from {{ occurrences }}
    where identifier_type in ({% for t in limits %}'{{ t }}'{{ ", " if not loop.last }}{% endfor %})
),

strong_direct as (
    select distinct w.identifier_type, w.identifier_value, s.identifier_type as strong_type, s.identifier_value as strong_value
    from weak_occurrences as w
    inner join strong_in_record as s
        on w.record_id = s.record_id and w.identifier_type <> s.identifier_type
),

weak_neighbours as (
    select distinct
        a.identifier_type, a.identifier_value, b.identifier_type as neighbour_type,
        b.identifier_value as neighbour_value
    from weak_occurrences as a
    inner join weak_occurrences as b
        on a.record_id = b.record_id
        and not (a.identifier_type = b.identifier_type and a.identifier_value = b.identifier_value)
),

strong_reached as (
    -- A family tablet is seen with one person's login and another person's cookie: count strong identifiers
    -- seen with the identifier itself or with the weak identifiers seen alongside it (two hops).
    select identifier_type, identifier_value, strong_type, strong_value from strong_direct
    union
    select n.identifier_type, n.identifier_value, d.strong_type, d.strong_value
    from weak_neighbours as n
    inner join strong_direct as d
        on n.neighbour_type = d.identifier_type and n.neighbour_value = d.identifier_value
),

strong_seen_with_weak as (
    select identifier_type, identifier_value, strong_type, count(distinct strong_value) as strong_values
    from strong_reached
    group by identifier_type, identifier_value, strong_type
),

shared as (
    select identifier_type, identifier_value, max(strong_values) as most_strong_values
    from strong_seen_with_weak
    where strong_values > case identifier_type
            {%- for t, limit in limits.items() %} when '{{ t }}' then {{ limit }}{% endfor %}
        end
    group by identifier_type, identifier_value
)

select
    row_number() over (order by g.identifier_type, g.identifier_value) as node_id,
    g.identifier_type,
    g.identifier_value,
    case g.identifier_type
        {%- for t, p in priority.items() %} when '{{ t }}' then {{ p }}{% endfor %}
    end as priority,
    g.first_seen_at,
    g.last_seen_at,
    g.first_delivery_date,
    g.occurrences,
    concat_ws(
        ','
        {%- for source in all_sources %},
        case when g.source_bits & {{ 2 ** loop.index0 }} <> 0 then '{{ source }}' end
        {%- endfor %}
    ) as sources,
    g.is_junk,
    sh.identifier_value is not null as is_shared,
    coalesce(sh.most_strong_values, 0) as most_strong_values,
    g.is_bot,
    not(g.is_junk or g.is_bot or sh.identifier_value is not null) as is_bridge
from guarded as g
left join shared as sh
    on g.identifier_type = sh.identifier_type and g.identifier_value = sh.identifier_value
