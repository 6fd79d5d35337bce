{#- Which channels bring customers worth keeping: lifetime value per channel, two ways.
    model = 'acquisition': each customer wholly to the channel that acquired them (customer_lifetime_value's
    acquisition_channel, the first touch of the first purchase's journey).
    model = an attribution model of fct_attribution: each customer split over channels by the channel's share of the
    credit in the customer's purchases under that model (the credits summed over the purchases, over the purchases'
    total, so a customer's shares sum to 1 per model; Shapley shares can be negative).
    customer_weight sums those shares (acquired customers count 1); every value column is weighted by them.
    A sum of doubles differs in its last bits with the order DuckDB's threads add in: the revenues are rounded to
    6 places before they are cut to cents, so a half cent does not go up in one run and down in the next. -#}
with customers as (
    select
        customer_id, acquisition_channel, historical_revenue, predicted_purchases_12m, probability_alive,
        predicted_value_12m
    from {{ ref('customer_lifetime_value') }}
),

purchases as (
    select conversion_id
    from {{ ref('fct_conversion') }}
    where customer_id is not null and not is_cancelled
),

channel_credits as (
    select a.model, a.customer_id, a.channel, sum(a.credit) as credit
    from {{ ref('fct_attribution') }} as a
    inner join purchases as p on a.conversion_id = p.conversion_id
    group by a.model, a.customer_id, a.channel
),

credit_shares as (
    select
        model, customer_id, channel,
        credit / sum(credit) over (partition by model, customer_id) as share
    from channel_credits
),

weighted as (
    select 'acquisition' as model, acquisition_channel as channel, customer_id, 1.0 as share
    from customers
    union all
    select model, channel, customer_id, share
    from credit_shares
)

select
    w.model,
    w.channel,
    count(*) as customers,
    sum(w.share) as customer_weight,
    cast(round(sum(w.share * c.historical_revenue), 6) as decimal(18, 2)) as historical_revenue,
    sum(w.share * c.predicted_purchases_12m) as predicted_purchases_12m,
    sum(w.share * c.predicted_value_12m) as predicted_value_12m,
    sum(w.share * c.probability_alive) as expected_active_customers,
    count(c.predicted_value_12m) as customers_with_value_prediction,
    cast(round(sum(w.share * c.historical_revenue) / nullif(sum(w.share), 0), 6) as decimal(18, 2))
        as historical_revenue_per_customer,
    sum(w.share * c.predicted_value_12m) / nullif(sum(w.share), 0) as predicted_value_12m_per_customer
from weighted as w
inner join customers as c on w.customer_id = c.customer_id
group by w.model, w.channel
