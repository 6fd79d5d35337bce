-- Acquisition cohorts by engagement tier and period since the first purchase.
select cohort_month, engagement_tier, months_since_first_purchase, customers, retained, retention_rate
from marts.agg_retention_cohort
