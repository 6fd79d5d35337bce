"""great-expectations suites as code, one module per layer; each suite says how to read its bounded batch."""
from dataclasses import dataclass
from typing import Callable

import great_expectations as gx


@dataclass(frozen=True)
class Suite:
    """Expectations for one table, validated one batch (a delivery or event day) at a time."""

    table: str  # schema-qualified
    batch_column: str | None  # the day column that bounds a batch; None for a small aggregate read whole
    expectations: Callable[[str], list[gx.expectations.Expectation]]  # built fresh for each batch key
    columns: str = "*"  # what to read: only what the expectations need

    def batch_sql(self) -> str:
        if self.batch_column is None:
            return f"select {self.columns} from {self.table} where ? is not null"
        return f"select {self.columns} from {self.table} where {self.batch_column} = ?"
