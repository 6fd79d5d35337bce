"""Dagster assets: raw ingestion, reference data, dbt models."""
