-- Single- against multi-channel customers: the seeds' claims, measured.
select * from marts.agg_omnichannel_impact
