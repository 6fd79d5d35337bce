"""Omnichannel customer data pipeline: the Dagster code location."""
