{#- One row per purchasing customer: revenue and orders to date, tenure, recency and frequency, the BG/NBD and
    Gamma-Gamma forecast over var('clv_horizon_months') (int_customer_lifetime_predictions), RFM quintile scores
    and the named segment (var('rfm_segments')), and the channel that acquired the customer: the first touch of
    the first purchase's journey, 'direct' when that journey had no touch. -#}
with summary as (
    select * from {{ ref('int_customer_purchase_summary') }}
),

predictions as (
    select * from {{ ref('int_customer_lifetime_predictions') }}
),

first_purchases as (
    select customer_id, conversion_id
    from (
        select
            customer_id,
            conversion_id,
            row_number() over (partition by customer_id order by converted_at, conversion_id) as purchase_number
        from {{ ref('fct_conversion') }}
        where customer_id is not null and not is_cancelled
    ) as numbered
    where purchase_number = 1
),

acquisition as (
    select f.customer_id, coalesce(j.first_channel, 'direct') as acquisition_channel
    from first_purchases as f
    left join {{ ref('fct_journey') }} as j on f.conversion_id = j.conversion_id
),

scored as (
    select
        s.*,
        -- Recency scores the last purchase day: the most recent fifth is 5.
        {{ quintile_band('s.last_purchase_date') }} as recency_score,
        {{ quintile_band('s.orders') }} as frequency_score,
        {{ quintile_band('s.historical_revenue') }} as monetary_score
    from summary as s
)

select
    s.customer_id,
    a.acquisition_channel,
    s.first_purchase_date,
    s.last_purchase_date,
    s.orders,
    s.purchase_days,
    s.repeat_purchases as frequency,
    cast(s.historical_revenue as decimal(18, 2)) as historical_revenue,
    cast(s.historical_revenue / s.orders as decimal(18, 2)) as average_order_value,
    s.tenure_days,
    s.recency_days,
    p.predicted_purchases as predicted_purchases_12m,
    p.probability_alive,
    p.predicted_average_value,
    p.predicted_value as predicted_value_12m,
    p.prediction_status,
    p.prediction_note,
    s.recency_score,
    s.frequency_score,
    s.monetary_score,
    concat(
        cast(s.recency_score as {{ dbt.type_string() }}),
        cast(s.frequency_score as {{ dbt.type_string() }}),
        cast(s.monetary_score as {{ dbt.type_string() }})
    ) as rfm_score,
    {{ rfm_segment('s.recency_score', 's.frequency_score', 's.monetary_score') }} as rfm_segment,
    s.period_end as as_of_date
from scored as s
inner join predictions as p on s.customer_id = p.customer_id
left join acquisition as a on s.customer_id = a.customer_id
