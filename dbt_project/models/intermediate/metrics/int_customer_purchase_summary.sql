{#- Every purchasing customer's history as of the last purchase day in the data: orders, revenue, and the
    frequency, recency and tenure the lifetime-value models are fitted on (macro customer_purchase_summary). -#}
with purchase_days as (
    select * from {{ ref('int_customer_purchase_days') }}
),

period as (
    select max(purchase_date) as period_end from purchase_days
)

{{ customer_purchase_summary('purchase_days', 'period') }}
