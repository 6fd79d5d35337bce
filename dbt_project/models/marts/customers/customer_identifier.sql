{#- One row per normalized identifier (a recycled phone once per ownership period) and the customer it belongs to. -#}
-- depends_on: {{ ref('customer_id_history') }}
select
    customer_id,
    identifier_type,
    identifier_value,
    first_seen_at,
    last_seen_at,
    sources,
    is_shared,
    epoch as ownership_period,
    valid_from,
    valid_to
from {{ ref('int_identity_customer_ids') }}
