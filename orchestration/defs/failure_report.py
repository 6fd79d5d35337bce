"""The report of a publication that did not happen, beside the last good release's.

A failed blocking check skips the publish step of its own run (dagster#17332), so the publish asset alone would
never see it: the report is written by whichever notices first, the publish asset when its gate is shut, the
runner after a transform that did not publish, or the sensor on a failed run started from the UI or a schedule.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.gate import evaluate_gate, latest_check_outcomes
from orchestration.defs.resources import Publication, Warehouse
from orchestration.reporting.build import write_failure_report


def report_failed_publication(
    instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey], warehouse: Path, publish_dir: Path
) -> Path:
    """Writes `<publish_dir>/failed/report.html` from the gate's view of the instance and the working warehouse
    (read-only: no writer holds it once a run has ended); returns its path."""
    gate = evaluate_gate(instance, list(check_keys))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        report = write_failure_report(
            publish_dir,
            con,
            gate.summary(),
            gate.unchecked,
            latest_check_outcomes(instance, check_keys),
            datetime.now(UTC).isoformat(),
        )
    return report.path.resolve()


def build_failed_publication_sensor(jobs: Sequence, check_keys: Sequence[dg.AssetCheckKey]) -> dg.SensorDefinition:
    """On a failed run of `jobs` (from the UI, a schedule or a backfill, with the daemon running), the report of
    what holds the publication back, while the gate is shut."""
    keys = list(check_keys)

    @dg.run_failure_sensor(
        name="failed_publication_report",
        monitored_jobs=list(jobs),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Writes failed/report.html beside the last good release when a run fails and the gate is shut.",
    )
    def failed_publication_report(context: dg.RunFailureSensorContext, warehouse: Warehouse, publication: Publication):
        """Writes what holds the publication back beside the last good release's report."""
        if evaluate_gate(context.instance, keys).open:
            return  # what failed is not the publication's business (the gate would let it through)
        path = report_failed_publication(context.instance, keys, Path(warehouse.path), publication.folder)
        context.log.info(f"run {context.dagster_run.run_id} did not publish; what failed: {path}")

    return failed_publication_report
