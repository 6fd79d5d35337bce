"""`omnichannel`: the command-line entry point beside the Dagster UI (pipeline and simulator commands)."""
import argparse
import sys

from orchestration import settings


def _simulate(args: argparse.Namespace) -> int:
    import simulator

    return simulator.run_from_args(args)


def _run(args: argparse.Namespace) -> int:
    from orchestration.runner import run_pipeline

    runs = run_pipeline(start=args.start, end=args.end)
    return 0 if runs["success"] else 1


def _warehouse(read_only: bool):
    import duckdb

    return duckdb.connect(str(settings.warehouse_path()), read_only=read_only)


def _explain(args: argparse.Namespace) -> int:
    from orchestration.identity.explain import explain

    with _warehouse(read_only=True) as con:
        print(explain(con, args.identifier))
    return 0


def _forget(args: argparse.Namespace) -> int:
    from orchestration.identity.forget import forget
    from orchestration.publishing.release import prune_all_but_current, scrub_current
    from orchestration.runner import run_pipeline

    with _warehouse(read_only=False) as con:
        done = forget(con, email=args.email, phone=args.phone, customer_id=args.customer_id)
    print(f"erased {done['customers']}: {done['identifiers_listed']} identifiers suppressed, "
          f"{done['raw_rows_quarantined']} raw rows and {done['quarantine_lines_scrubbed']} quarantined lines erased; "
          f"{done['staged_rows_tallied']} staged rows tallied in raw.erased_daily_totals for the sync check")
    # BI loses the person at once; older releases that hold them are deleted.
    scrub_current(settings.publish_dir(), done["customers"])
    if args.no_rebuild:
        return 0
    # Replaying every partition through the suppression list rebuilds the models without the person. The
    # sources still count the erased events: agg_sync_accuracy shows them as erased_value, not as missing.
    runs = run_pipeline()
    prune_all_but_current(settings.publish_dir())
    return 0 if runs["success"] else 1


def _identity_score(args: argparse.Namespace) -> int:
    from simulator.scoring.identity import format_scores, score

    truth = args.truth or str(settings.landing_dir() / "_truth")
    with _warehouse(read_only=True) as con:
        print(format_scores(score(con, truth)))
    return 0


def _attribution_score(args: argparse.Namespace) -> int:
    from simulator.scoring.attribution import ALL_PURCHASES, ONLINE_PURCHASES, format_score, score

    truth = args.truth or str(settings.landing_dir() / "_truth")
    with _warehouse(read_only=True) as con:
        print(format_score(score(con, truth, ALL_PURCHASES)))
        print()
        print(format_score(score(con, truth, ONLINE_PURCHASES)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omnichannel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    simulate = commands.add_parser("simulate", help="write a simulated landing zone with ground truth")
    import simulator

    simulator.add_arguments(simulate)
    simulate.set_defaults(handler=_simulate)

    run = commands.add_parser("run", help="materialize every asset for every delivery day in the landing zone")
    run.add_argument("--start", help="first delivery day (YYYY-MM-DD)")
    run.add_argument("--end", help="last delivery day (YYYY-MM-DD)")
    run.set_defaults(handler=_run)

    explain = commands.add_parser("explain", help="show a customer and the records that joined its identifiers")
    explain.add_argument("identifier", help="an email, phone, CRM id, cookie, device, ... as typed anywhere")
    explain.set_defaults(handler=_explain)

    forget = commands.add_parser("forget", help="erase a person from every table and keep them out of replays")
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--email")
    who.add_argument("--phone")
    who.add_argument("--customer-id")
    forget.add_argument("--no-rebuild", action="store_true", help="erase raw data only; rebuild later")
    forget.set_defaults(handler=_forget)

    score = commands.add_parser("identity-score",
                                help="B-cubed precision and recall of identity resolution against simulator truth")
    score.add_argument("--truth", help="the simulator's _truth folder (default: <landing>/_truth)")
    score.set_defaults(handler=_identity_score)
    ranking = commands.add_parser("attribution-score",
                                  help="how well each attribution model recovers the simulator's true channel ranking")
    ranking.add_argument("--truth", help="the simulator's _truth folder (default: <landing>/_truth)")
    ranking.set_defaults(handler=_attribution_score)
    return parser


def main(argv: list[str] | None = None) -> int:
    # The one place the environment is written: dbt, started by the pipeline, must see the same absolute paths.
    settings.export_defaults()
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
