-- One row per CRM customer: the latest delivered row wins.
with rows_delivered as (
    select * from {{ ref('stg_crm__customer_rows') }}
),

latest as (
    select
        *,
        row_number() over (
            partition by customer_id order by delivery_date desc, source_file desc, source_line desc
        ) as row_rank
    from rows_delivered
)

select
    event_id, customer_id, email_raw, email, phone_raw, phone, first_name, last_name,
    birth_date, gender, loyalty_id, instagram_handle, created_at,
    created_at as event_at, cast(created_at as date) as event_date,
    source_file, source_line, delivery_date, loaded_at
from latest
where row_rank = 1
