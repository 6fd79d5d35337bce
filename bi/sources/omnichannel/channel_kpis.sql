-- Messages sent per channel and day, and what they cost: unsubscribes and spam complaints.
select event_date, channel, sum(sends) as sends, sum(deliveries) as deliveries, sum(unsubscribes) as unsubscribes,
    sum(spam_complaints) as spam_complaints
from marts.agg_daily_channel_kpis
where sends > 0 or unsubscribes > 0 or spam_complaints > 0
group by all
