"""Times identity resolution (dbt's identity models) on a simulated world, and scores it against the truth.

    .venv/bin/python benchmarks/identity.py --customers 1000000 [--days 3] [--workdir /tmp/omni-identity]

Simulates, ingests and stages untimed, then times `dbt run` of the identity models (occurrences through
customer_identifier and int_records_customers, not the journeys built on them) and prints identifiers, links,
seconds, peak memory and the B-cubed scores.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb


def _peak_rss_gb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024 / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/omni-identity")
    parser.add_argument("--keep-warehouse", action="store_true", help="reuse a staged warehouse from a last run")
    args = parser.parse_args()

    root = Path(args.workdir)
    os.environ.update(OMNI_HOME=str(root), OMNI_LANDING_DIR=str(root / "landing"),
                      OMNI_WAREHOUSE=str(root / "warehouse.duckdb"), OMNI_PUBLISH_DIR=str(root / "published"))
    import simulator
    from orchestration import settings
    from simulator.scoring.identity import format_scores, score

    settings.apply_defaults()
    if not args.keep_warehouse:
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        simulator.simulate(root / "landing", customers=args.customers, days=args.days, seed=args.seed)
        print(f"simulate: {args.customers:,} customers, {args.days} days in {time.perf_counter() - started:.1f} s")
        from orchestration.runner import run_pipeline

        started = time.perf_counter()
        run_pipeline(log=lambda message: None)
        print(f"ingest, stage and build (untimed part): {time.perf_counter() - started:.1f} s")

    # dbt in its own process, as Dagster runs it: an in-process dbt keeps the DuckDB file open afterwards.
    started = time.perf_counter()
    # The identity models and the record -> customer assignment, not what reads them (journeys, attribution).
    result = subprocess.run([str(Path(sys.executable).parent / "dbt"), "run", "--select",
                             "int_identity_occurrences+,path:models/intermediate/identity "
                             "int_identity_occurrences+,path:models/marts/customers",
                             "--exclude", "dim_customer",
                             "--project-dir", str(settings.DBT_PROJECT_DIR),
                             "--profiles-dir", str(settings.DBT_PROJECT_DIR), "--quiet",
                             "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"dbt identity models failed:\n{result.stdout}{result.stderr}")
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        identifiers = con.execute("select count(*) from intermediate.int_identity_identifiers").fetchall()[0][0]
        links = con.execute("select count(*) from intermediate.int_identity_edges").fetchall()[0][0]
        customers = con.execute("select count(distinct customer_id) from marts.customer_identifier").fetchall()[0][0]
        timings = {r["unique_id"].split(".")[-1]: r["execution_time"]
                   for r in json.loads((root / "target" / "run_results.json").read_text())["results"]}
        for model, model_seconds in timings.items():
            print(f"  {model:<36} {model_seconds:6.1f} s")
        resolution = sum(t for m, t in timings.items() if m != "int_records_customers")
        print(f"identity resolution: {identifiers:,} identifiers, {links:,} links -> {customers:,} customers "
              f"in {resolution:.1f} s of model time (goal < 60 s), then each record's customer in "
              f"{timings.get('int_records_customers', 0):.1f} s; dbt run wall time {seconds:.1f} s; "
              f"peak memory {_peak_rss_gb():.2f} GB")
        print(format_scores(score(con, root / "landing" / "_truth")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
