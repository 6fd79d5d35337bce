"""Raw layer: what ingestion promises for every loaded row of a delivery day."""

from collections.abc import Iterable

import great_expectations as gx

from data_quality.suites import BATCH_KEY_SET, Suite


def _raw_expectations(_day: str) -> list[gx.expectations.Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="_event_id"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="record_present"),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="_file"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="_line", min_value=1),
        gx.expectations.ExpectColumnValuesToBeInSet(column="_delivery_date_text", value_set=dict(BATCH_KEY_SET)),
        # Among first copies, the vendor's event id is a key.
        gx.expectations.ExpectColumnValuesToBeUnique(column="_first_copy_event_id"),
    ]


def raw_suites(raw_tables: Iterable[str]) -> dict[str, Suite]:
    """One suite per raw table (the pipeline passes its registry's names: quality knows no sources of its own)."""
    return {table: _raw_suite(table) for table in raw_tables}


def _raw_suite(table: str) -> Suite:
    return Suite(
        table=f"raw.{table}",
        batch_column="_delivery_date",
        expectations=_raw_expectations,
        columns="_event_id, case when record is not null then 1 end as record_present, _file, _line, _delivery_date::varchar as _delivery_date_text, "
        "case when not _is_duplicate then _event_id end as _first_copy_event_id",
    )
