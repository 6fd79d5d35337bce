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


class CommandRefused(Exception):
    """A command that stops with a reason: one line on stderr and an exit code, never a traceback."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def _open_warehouse(read_only: bool):
    """The warehouse, or CommandRefused when there is none or another process holds it."""
    import duckdb

    path = settings.warehouse_path()
    if not path.exists():
        raise CommandRefused(f"no warehouse at {path}: run `omnichannel run` first")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as error:
        reason = str(error).splitlines()[0]
        if "lock" in reason.lower():
            raise CommandRefused(f"cannot open {path}: another process holds it (a Dagster run?); "
                                 f"try again when it is done ({reason})") from None
        raise CommandRefused(f"cannot open {path}: {reason}") from None


def _rewrite_warehouse() -> None:
    from orchestration.privacy.files import rewrite_database

    try:
        config = {"memory_limit": settings.get("OMNI_DUCKDB_MEMORY_LIMIT"),
                  "threads": int(settings.get("OMNI_DUCKDB_THREADS"))}
        sizes = rewrite_database(settings.warehouse_path(), config=config)
    except (RuntimeError, OSError) as error:
        raise CommandRefused(f"the warehouse was not rewritten: {error}") from None
    print(f"rewrote {settings.warehouse_path()} into a fresh file ({sizes['bytes_before']:,} -> "
          f"{sizes['bytes_after']:,} bytes): no free block keeps erased data")


def _forget(args: argparse.Namespace) -> int:
    from orchestration.identity.erasure_plan import ForgetRefused
    from orchestration.identity.forget import erase, plan_for

    try:
        with _open_warehouse(read_only=True) as con:
            plan = plan_for(con, email=args.email, phone=args.phone, customer_id=args.customer_id)
    except ForgetRefused as refused:
        raise CommandRefused(str(refused), refused.exit_code) from None
    print(plan.describe())
    if args.dry_run:
        print("dry run: nothing erased")
        return 0
    if plan.total > args.max_records and not args.yes:
        raise CommandRefused(f"{plan.total} records is more than --max-records {args.max_records}: check the plan "
                             "above, then run again with --yes; nothing erased")
    with _open_warehouse(read_only=False) as con:
        done = erase(con, plan)
    print(f"erased customer {', '.join(done['customers'])}: {done['identifiers_listed']} identifiers suppressed, "
          f"{done['raw_rows_quarantined']} raw rows and {done['quarantine_lines_scrubbed']} quarantined lines erased; "
          f"{done['staged_rows_tallied']} staged rows tallied in raw.erased_daily_totals for the sync check")
    return _finish_forget(done["customers"], rebuild=not args.no_rebuild)


def _finish_forget(customers: list[str], rebuild: bool) -> int:
    """Everything outside raw that held the person: the published copy, Data Docs, the models, the file's bytes."""
    import shutil

    from orchestration.publishing.release import prune_all_but_current, scrub_current

    # BI loses the person at once, in freshly written files; older releases that hold them are deleted.
    scrub_current(settings.publish_dir(), customers)
    # Data Docs show failing values as examples; the next run renders the site again from the data as it is.
    shutil.rmtree(settings.data_docs_dir(), ignore_errors=True)
    if not rebuild:
        print("not rebuilt: the models and the warehouse file's free blocks still hold them until "
              "`omnichannel run` and then `omnichannel rewrite-warehouse`")
        return 0
    from orchestration.runner import run_pipeline

    # Replaying every partition through the suppression list rebuilds the models without the person. The
    # sources still count the erased events: agg_sync_accuracy shows them as erased_value, not as missing.
    runs = run_pipeline()
    prune_all_but_current(settings.publish_dir())
    # Deleted rows and replaced tables leave their bytes in free blocks: only a fresh file has none.
    _rewrite_warehouse()
    return 0 if runs["success"] else 1


def _rewrite(args: argparse.Namespace) -> int:
    if not settings.warehouse_path().exists():
        raise CommandRefused(f"no warehouse at {settings.warehouse_path()}")
    _open_warehouse(read_only=False).close()  # refuses, in one line, while another process holds the file
    _rewrite_warehouse()
    return 0


def _acknowledge_drop(args: argparse.Namespace) -> int:
    from orchestration.publishing.row_drops import acknowledge

    try:
        records = acknowledge(settings.publish_dir(), args.marts, args.reason)
    except LookupError as error:
        raise CommandRefused(str(error.args[0])) from None
    except ValueError as error:
        raise CommandRefused(str(error), 2) from None
    for record in records:
        print(f"acknowledged: {record['mart']} may publish with fewer rows than the {record['published_rows']} of "
              f"release {record['against_release']} (the next publication records this in its manifest)")
    return 0


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


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, exit code 2, as argparse has it, without the usage block before them."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a count of records: {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="omnichannel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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

    forget = commands.add_parser("forget", help="erase one person from every table and file, and keep them out of "
                                                "replays")
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="an email address the person holds (any case, +tags ignored)")
    who.add_argument("--phone", help="a phone number the person holds, valid for OMNI_PHONE_REGION if national")
    who.add_argument("--customer-id", help="the warehouse customer id (marts.dim_customer)")
    forget.add_argument("--dry-run", action="store_true", help="print what would be erased, erase nothing")
    forget.add_argument("--max-records", type=_count, default=100,
                        help="erase more records than this only with --yes (default 100)")
    forget.add_argument("--yes", action="store_true", help="erase however many records the plan names")
    forget.add_argument("--no-rebuild", action="store_true", help="erase raw data only; rebuild later")
    forget.set_defaults(handler=_forget)

    rewrite = commands.add_parser("rewrite-warehouse",
                                  help="copy the warehouse into a fresh file, so no free block keeps erased data")
    rewrite.set_defaults(handler=_rewrite)

    acknowledge = commands.add_parser("acknowledge-drop",
                                      help="let the next publication through although these marts lost rows")
    acknowledge.add_argument("marts", nargs="+", metavar="MART", help="a mart of the current publication")
    acknowledge.add_argument("--reason", required=True, help="why the drop is right (kept in the manifest)")
    acknowledge.set_defaults(handler=_acknowledge_drop)

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
    try:
        return args.handler(args)
    except CommandRefused as refused:
        print(f"omnichannel {args.command}: {refused}", file=sys.stderr)
        return refused.exit_code


if __name__ == "__main__":
    sys.exit(main())
