-- Conversions and revenue credited to each channel under each attribution model, per conversion day.
select model, channel, conversion_date, attributed_conversions, attributed_revenue
from marts.agg_channel_attribution
