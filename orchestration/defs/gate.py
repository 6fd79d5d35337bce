"""The publication gate: every check upstream of the published copy passed on the data as it is now.

Blocking asset checks stop downstream steps only inside one run. This gate reads the instance instead, so it
holds however the publish run was started (UI, CLI, schedule, sensor, backfill): a check counts only if its
latest evaluation passed and came after the latest materialization of the asset it checks.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from orchestration.reporting.sections import CheckOutcome


@dataclass
class GateResult:
    passed: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    warnings: dict[str, str] = field(default_factory=dict)  # warned check -> what was off (its description)
    failed: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return not self.failed and not self.unchecked

    def summary(self) -> str:
        parts = [f"{len(self.passed)} passed", f"{len(self.warned)} warned"]
        if self.failed:
            parts.append("failed: " + ", ".join(self.failed))
        if self.unchecked:
            parts.append("not checked on the current data: " + ", ".join(self.unchecked))
        return "; ".join(parts)


def _name(key: dg.AssetCheckKey) -> str:
    return f"{key.asset_key.to_user_string()}:{key.name}"


def _latest_materializations(instance: dg.DagsterInstance, asset_keys) -> dict:
    """asset key -> its latest materialization's record, for those materialized: one read of the asset index
    (a query per check was about 250 queries per gate on this project)."""
    return {
        record.asset_entry.asset_key: record.asset_entry.last_materialization_record
        for record in instance.get_asset_records(sorted(set(asset_keys), key=lambda key: key.to_user_string()))
        if record.asset_entry.last_materialization_record is not None
    }


def _checked_current_data(evaluation, check_event, materialization) -> bool:
    """Did this evaluation look at the asset's latest materialization (not an older one)?"""
    if materialization is None:
        return True
    target = evaluation.target_materialization_data
    if target is not None:
        return target.storage_id == materialization.storage_id
    return check_event.timestamp >= materialization.timestamp


def evaluate_gate(instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey]) -> GateResult:
    result = GateResult()
    latest_checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    materializations = _latest_materializations(instance, (key.asset_key for key in check_keys))
    for key in sorted(check_keys, key=_name):
        record = latest_checks.get(key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if (
            record is None
            or evaluation is None
            or record.status not in (AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED)
        ):
            result.unchecked.append(_name(key))
            continue
        if not _checked_current_data(evaluation, record.event, materializations.get(key.asset_key)):
            result.unchecked.append(_name(key))  # the data changed after its last check
            continue
        if evaluation.passed:
            result.passed.append(_name(key))
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            # A warning is worth watching, not wrong data: it is published, and said so.
            result.warned.append(_name(key))
            result.warnings[_name(key)] = evaluation.description or "failed with severity WARN"
        else:
            result.failed.append(_name(key))
    return result


def upstream_check_keys(asset_graph, roots: Sequence[dg.AssetKey]) -> list[dg.AssetCheckKey]:
    """Every asset check defined on an unpartitioned one of `roots` or their ancestors (the data they publish)."""
    covered, frontier = set(roots), list(roots)
    while frontier:
        node = asset_graph.get(frontier.pop())
        for parent in node.parent_keys:
            if parent not in covered:
                covered.add(parent)
                frontier.append(parent)
    return sorted(
        (
            key
            for key in asset_graph.asset_check_keys
            if key.asset_key in covered and asset_graph.get(key.asset_key).partitions_def is None
        ),
        key=_name,
    )


def _plain(value: dg.MetadataValue):
    """A metadata value as plain Python: a table as its records, JSON as its data, anything else as its value."""
    if isinstance(value, dg.TableMetadataValue):
        return [dict(record.data) for record in value.records]
    return value.value


def latest_check_outcomes(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey]) -> list[CheckOutcome]:
    """The latest evaluation of each check (those never evaluated left out), for a report to draw."""
    outcomes = []
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
    for key in sorted(check_keys, key=_name):
        record = latest.get(key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation is None:
            continue
        outcomes.append(check_outcome(key, evaluation))
    return outcomes


def check_outcome(key: dg.AssetCheckKey, evaluation: dg.AssetCheckEvaluation | dg.AssetCheckResult) -> CheckOutcome:
    """A check's evaluation (as the instance recorded it, or as the check returned it) in the report's plain terms."""
    return CheckOutcome(
        asset=key.asset_key.to_user_string(),
        name=key.name,
        passed=evaluation.passed,
        severity=evaluation.severity.value,
        description=evaluation.description,
        metadata={name: _plain(value) for name, value in evaluation.metadata.items()},
    )
