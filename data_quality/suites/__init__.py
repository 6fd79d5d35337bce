"""great-expectations suites as code, one module per layer; each suite says how to read its bounded batch."""

from collections.abc import Callable
from dataclasses import dataclass

import great_expectations as gx

# The key of the batch being validated, as an expectation's value set: `{"$PARAMETER": ...}` is filled in when
# each batch is validated, so the suite itself is the same for every batch and registered with GX only once.
BATCH_KEY_SET = {"$PARAMETER": "batch_key_set"}


@dataclass(frozen=True)
class Suite:
    """Expectations for one table, validated one batch (a delivery or event day) at a time."""

    table: str  # schema-qualified
    batch_column: str | None  # the day column that bounds a batch; None for a small aggregate read whole
    # Built fresh for each batch key (GX binds an expectation to its suite); a suite whose expectations name the
    # key itself, rather than through BATCH_KEY_SET, is registered with GX again for every batch.
    expectations: Callable[[str], list[gx.expectations.Expectation]]
    columns: str = "*"  # what to read: only what the expectations need

    @staticmethod
    def parameters(batch_key: str) -> dict:
        """The values of the suite's parameters (`BATCH_KEY_SET`) for one batch."""
        return {"batch_key_set": [batch_key]}

    def batch_sql(self) -> str:
        if self.batch_column is None:
            return f"select {self.columns} from {self.table} where ? is not null"
        return f"select {self.columns} from {self.table} where {self.batch_column} = ?"
