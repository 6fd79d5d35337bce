"""Delivery days: one dynamic partition per landing folder day, added as folders appear."""

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

DELIVERY_DAY = "delivery_day"
delivery_days = dg.DynamicPartitionsDefinition(name=DELIVERY_DAY)


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """The tags of a run over the delivery days `first` .. `last` (in the partitions' order): a one-day run's
    partition when they are the same day, else the range, as a single-run backfill of it has them."""
    if first == last:
        return {PARTITION_NAME_TAG: first}
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
