"""Times identity resolution (dbt's identity models) on a simulated world, and scores it against the truth.

    .venv/bin/python benchmarks/identity.py --customers 1000000 [--days 3] [--workdir /tmp/omni-identity]

Simulates, ingests and stages untimed, then times `dbt run` of the identity models (occurrences through
customer_identifier and int_records_customers, not the journeys built on them) and prints identifiers, links,
seconds, peak memory and the B-cubed scores.
"""

import duckdb

from _harness import PeakMemory, argument_parser, build, pipeline, run_dbt, simulate


def main() -> int:
    parser = argument_parser(__doc__, workdir="/tmp/omni-identity", seed=1)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--keep-warehouse", action="store_true", help="reuse a staged warehouse from a last run")
    args = parser.parse_args()

    memory = PeakMemory.start()
    work = pipeline(args.workdir, fresh=not args.keep_warehouse)
    from simulator.scoring.identity import format_scores, score

    if not args.keep_warehouse:
        simulate(work, customers=args.customers, days=args.days, seed=args.seed)
        build(work)

    # The identity models and the record -> customer assignment, not what reads them (journeys, attribution).
    run = run_dbt(
        work,
        [
            "int_identity_occurrences+,path:models/intermediate/identity",
            "int_identity_occurrences+,path:models/marts/customers",
        ],
        exclude=["dim_customer"],
        what="dbt identity models",
    )
    with duckdb.connect(str(work.warehouse), read_only=True) as con:
        identifiers = con.execute("select count(*) from intermediate.int_identity_identifiers").fetchall()[0][0]
        links = con.execute("select count(*) from intermediate.int_identity_edges").fetchall()[0][0]
        customers = con.execute("select count(distinct customer_id) from marts.customer_identifier").fetchall()[0][0]
        timings = run.model_seconds
        for model, model_seconds in timings.items():
            print(f"  {model:<36} {model_seconds:6.1f} s")
        resolution = sum(t for m, t in timings.items() if m != "int_records_customers")
        print(
            f"identity resolution: {identifiers:,} identifiers, {links:,} links -> {customers:,} customers "
            f"in {resolution:.1f} s of model time (goal < 60 s), then each record's customer in "
            f"{timings.get('int_records_customers', 0):.1f} s; dbt run wall time {run.wall_seconds:.1f} s; "
            f"peak memory {memory.gb():.2f} GB"
        )
        print(format_scores(score(con, work.landing / "_truth")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
