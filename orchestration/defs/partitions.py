"""Delivery days: one dynamic partition per landing folder day, added as folders appear."""

import dagster as dg

DELIVERY_DAY = "delivery_day"
delivery_days = dg.DynamicPartitionsDefinition(name=DELIVERY_DAY)
