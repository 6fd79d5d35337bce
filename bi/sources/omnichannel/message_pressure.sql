-- Marketing messages per customer and day across channels (fct_message_pressure), once a release holds it.
-- The DuckDB plugin runs every statement but the last first and ignores their errors: the empty view stands in
-- while the mart is not published, and the second statement replaces it when it is.
create or replace temp view pressure_source as
select null::varchar as customer_id, null::date as message_date, 0 as marketing_messages where false;
create or replace temp view pressure_source as
select customer_id, message_date, marketing_messages from marts.fct_message_pressure;
select messages_per_day, count(*) as customer_days
from (select customer_id, message_date, sum(marketing_messages) as messages_per_day from pressure_source group by all)
where messages_per_day > 0
group by 1
