-- Each source's event days against its own control totals.
select source, event_date, metric_kind, metric, control_value, warehouse_value, abs_difference, status
from marts.agg_sync_accuracy
