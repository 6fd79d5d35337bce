-- One row per purchase day and channel: what the release holds of fct_conversion (no customer columns).
select converted_at::date as conversion_date, purchase_channel, count(*) as conversions, sum(revenue) as revenue,
    count(*) filter (where is_cancelled) as cancelled
from marts.fct_conversion
group by all
