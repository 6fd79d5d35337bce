"""`omnichannel`: the command-line entry point beside the Dagster UI (pipeline and simulator commands).

Every misuse ends in one line on stderr that says what is wrong and what to do, and a non-zero exit: 2 for
arguments that cannot work (refused before anything runs), 1 for a state to fix first (no warehouse yet, nobody
holds the identifier, a failed run). A traceback means a bug.
"""

import argparse
import gc
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import psutil

from orchestration import settings
from orchestration.ingestion.landing import NoDeliveryDays

EXAMPLES = {
    "simulate": "omnichannel simulate --out .omnichannel/landing --customers 2000 --days 14 --seed 7",
    "run": "omnichannel run --start 2026-03-01 --end 2026-03-07",
    "explain": "omnichannel explain jane.doe@example.com",
    "forget": "omnichannel forget --email jane.doe@example.com --dry-run",
    "rewrite-warehouse": "omnichannel rewrite-warehouse",
    "acknowledge-drop": "omnichannel acknowledge-drop fct_conversion --reason 'erased a reseller on request'",
    "identity-score": "omnichannel identity-score --truth .omnichannel/landing/_truth",
    "attribution-score": "omnichannel attribution-score --truth .omnichannel/landing/_truth",
    "ui": "omnichannel ui --port 3000",
    "serve-docs": "omnichannel serve-docs",
}


class CliError(Exception):
    """A state the user can fix: printed as one line, no traceback, exit code 1 (or the one given)."""

    exit_code = 1

    def __init__(self, message: str, prog: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.prog = prog
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(CliError):
    """Arguments that cannot work, refused before anything runs: exit code 2."""

    exit_code = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (what is wrong, where the help is) instead of the usage block."""

    def error(self, message: str):
        raise UsageError(f"{message} (see `{self.prog} --help`)", prog=self.prog)


def _day(text: str) -> str:
    """A YYYY-MM-DD day, as an ISO string (landing folders are named so)."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is no day of the calendar") from None
    raise argparse.ArgumentTypeError(f"{text!r} is not a date: expected YYYY-MM-DD")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextmanager
def _warehouse(read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, or one line saying why not: there is none yet, a process holds it, it lacks a table."""
    path = settings.warehouse_path()
    if not path.is_file():
        raise CliError(f"no warehouse at {path}: run `omnichannel run` first (or point OMNI_WAREHOUSE at one)")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise CliError(_locked_or_unreadable(path, exc)) from None
    try:
        with con:
            yield con
    except duckdb.CatalogException as exc:
        raise CliError(
            f"the warehouse at {path} lacks what this command reads ({_first_line(exc)}): "
            "run `omnichannel run` to build it"
        ) from None


def _locked_or_unreadable(path: Path, exc: Exception) -> str:
    holder = re.search(r"\(PID (\d+)\)", str(exc))
    if not holder:
        return f"cannot open the warehouse at {path}: {_first_line(exc)}"
    pid = int(holder.group(1))
    try:
        what = " ".join(psutil.Process(pid).cmdline())[:120]
    except psutil.Error:  # gone meanwhile, or not ours to inspect: the pid alone still helps
        what = "unknown command"
    return (
        f"the warehouse at {path} is in use by process {pid} ({what}): wait for it to finish, "
        "or stop it if it is left over from a killed run"
    )


def _simulate(args: argparse.Namespace) -> int:
    import simulator
    from simulator.faults import Fault

    if args.append_day:  # the world's own parameters, from the landing zone
        try:
            return simulator.run_from_args(args)
        except simulator.SimulationParametersError as error:
            raise UsageError(f"--append-day: {error}") from None
    last = date.fromordinal(args.start.toordinal() + args.days - 1)
    for spec in args.fault:
        if not args.start.isoformat() <= Fault.parse(spec).day <= last.isoformat():
            raise UsageError(f"argument --fault: {spec!r} names a day outside the simulated {args.start} .. {last}")
    return simulator.run_from_args(args)


def _run_logs_dir() -> Path:
    """Where `omnichannel run` keeps each run's detail log (and `forget` deletes them)."""
    return settings.home_dir() / "logs"


@contextmanager
def _details(verbose: bool) -> Iterator[tuple[Callable[[str], None], Path | None]]:
    """Unless `verbose`, what Dagster logs of every event and what dbt prints of every node (about a thousand lines
    for one day) go to a file under OMNI_HOME/logs instead of the terminal. Yields the function that prints the
    run's own lines on the terminal (a few per stage) and that file (None when verbose)."""
    terminal = sys.stdout
    if verbose:
        yield print, None
        return
    logs = _run_logs_dir()
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"run-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.log"
    with path.open("a") as file, redirect_stdout(file), redirect_stderr(file):
        yield (lambda message: print(message, file=terminal, flush=True)), path


def _run(args: argparse.Namespace) -> int:
    if args.start and args.end and args.start > args.end:
        raise UsageError(f"--start {args.start} is after --end {args.end}")
    landing = settings.landing_dir()
    if not landing.is_dir():
        raise CliError(
            f"no landing folder at {landing}: point OMNI_LANDING_DIR at the landing zone, "
            f"or write one with `omnichannel simulate --out {landing}`"
        )
    from orchestration.runner import run_pipeline
    from orchestration.warehouse_lock import exclusive

    with _details(args.verbose) as (say, details), exclusive(settings.warehouse_path(), waiting=say):
        # Another run of the pipeline is waited for above; a process still writing now is none of ours (a dbt
        # left by a killed run, say): named now.
        if settings.warehouse_path().is_file():
            with _warehouse(read_only=False):
                pass
        runs = run_pipeline(start=args.start, end=args.end, full_refresh=args.full_refresh, log=say)
    if details is not None:
        print(f"details (Dagster's events, dbt's output): {details}")
    if runs.get("failed_ingestion"):
        raise CliError("stopped: " + runs["failed_ingestion"][0] + " (nothing was transformed or published)")
    if not runs["success"]:
        failed = ", ".join(runs["failed_checks"]) or f"a step failed (see {details or 'above'})"
        raise CliError(
            f"the transform run {runs['transform']} failed: {failed}; "
            + ("published anyway" if runs["published"] else "the last publication is untouched")
        )
    return 0


def _explain(args: argparse.Namespace) -> int:
    from orchestration.identity.explain import UnknownIdentifier, explain

    with _warehouse(read_only=True) as con:
        try:
            print(explain(con, args.identifier))
        except UnknownIdentifier as exc:
            raise CliError(f"{exc}; try an email, phone, CRM id, cookie or device as a source wrote it") from None
    return 0


def _rewrite_warehouse() -> None:
    from orchestration.privacy.files import rewrite_database

    try:
        config = {
            "memory_limit": settings.get("OMNI_DUCKDB_MEMORY_LIMIT"),
            "threads": int(settings.get("OMNI_DUCKDB_THREADS")),
        }
        sizes = rewrite_database(settings.warehouse_path(), config=config)
    except (RuntimeError, OSError) as error:
        raise CliError(f"the warehouse was not rewritten: {error}") from None
    print(
        f"rewrote {settings.warehouse_path()} into a fresh file ({sizes['bytes_before']:,} -> "
        f"{sizes['bytes_after']:,} bytes): no free block keeps erased data"
    )


def _forget(args: argparse.Namespace) -> int:
    from orchestration.identity.erasure_plan import ForgetRefused
    from orchestration.identity.forget import erase, plan_for

    try:
        with _warehouse(read_only=True) as con:
            plan = plan_for(con, email=args.email, phone=args.phone, customer_id=args.customer_id)
    except ForgetRefused as refused:
        raise CliError(str(refused), exit_code=refused.exit_code) from None
    print(plan.describe())
    if args.dry_run:
        print("dry run: nothing erased")
        return 0
    if plan.total > args.max_records and not args.yes:
        raise CliError(
            f"{plan.total} records is more than --max-records {args.max_records}: check the plan "
            "above, then run again with --yes; nothing erased"
        )
    with _warehouse(read_only=False) as con:
        done = erase(con, plan)
    print(
        f"erased customer {', '.join(done['customers'])}: {done['identifiers_listed']} identifiers suppressed, "
        f"{done['raw_rows_quarantined']} raw rows and {done['quarantine_lines_scrubbed']} quarantined lines erased; "
        f"{done['staged_rows_tallied']} staged rows tallied in raw.erased_daily_totals for the sync check"
    )
    return _finish_forget(done["customers"], rebuild=not args.no_rebuild)


def _finish_forget(customers: list[str], rebuild: bool) -> int:
    """Everything outside raw that held the person: the published copy, Data Docs, the models, the file's bytes."""
    import shutil

    from orchestration.publishing.release import prune_all_but_current, scrub_current
    from orchestration.reporting.build import redraw_release_report

    # BI loses the person at once, in freshly written files; older releases that hold them are deleted.
    scrubbed = scrub_current(settings.publish_dir(), customers)
    if scrubbed is not None:
        redraw_release_report(scrubbed.path)  # the report of the scrubbed release, from its own marts
    # Data Docs show failing values as examples; the next run renders the site again from the data as it is.
    shutil.rmtree(settings.data_docs_dir(), ignore_errors=True)
    # The runs' detail logs (`omnichannel run`) repeat Dagster's events and dbt's output, failures' messages
    # included: diagnostics of past runs, deleted rather than combed through.
    shutil.rmtree(_run_logs_dir(), ignore_errors=True)
    if not rebuild:
        print(
            "not rebuilt: the models and the warehouse file's free blocks still hold them until "
            "`omnichannel run` and then `omnichannel rewrite-warehouse`"
        )
        return 0
    from orchestration.runner import run_pipeline

    # Replaying every partition through the suppression list rebuilds the models without the person. The
    # sources still count the erased events: agg_sync_accuracy shows them as erased_value, not as missing.
    runs = run_pipeline(full_refresh=True)
    prune_all_but_current(settings.publish_dir())
    # Deleted rows and replaced tables leave their bytes in free blocks: only a fresh file has none.
    _rewrite_warehouse()
    return 0 if runs["success"] else 1


def _rewrite(args: argparse.Namespace) -> int:
    with _warehouse(read_only=False):  # refuses, in one line, while another process holds the file
        pass
    _rewrite_warehouse()
    return 0


def _acknowledge_drop(args: argparse.Namespace) -> int:
    from orchestration.publishing.row_drops import acknowledge

    try:
        records = acknowledge(settings.publish_dir(), args.marts, args.reason)
    except LookupError as error:
        raise CliError(str(error.args[0])) from None
    except ValueError as error:
        raise UsageError(str(error)) from None
    for record in records:
        print(
            f"acknowledged: {record['mart']} may publish with fewer rows than the {record['published_rows']} of "
            f"release {record['against_release']} (the next publication records this in its manifest)"
        )
    return 0


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a count of records: {text!r}")
    return int(text)


def _truth(args: argparse.Namespace, con) -> str:
    """The truth folder to score against, checked to be the world the warehouse was built from."""
    from simulator.scoring.identity import TruthMismatch, check_same_world

    truth = args.truth or str(settings.landing_dir() / "_truth")
    if not (Path(truth) / "identifiers.parquet").is_file():
        raise CliError(
            f"no simulator truth at {truth} (identifiers.parquet): pass --truth <landing>/_truth "
            "of the simulated world the warehouse holds"
        )
    try:
        check_same_world(con, truth)
    except TruthMismatch as exc:
        raise CliError(f"{exc}; pass --truth <landing>/_truth of the world `omnichannel run` loaded") from None
    return truth


def _identity_score(args: argparse.Namespace) -> int:
    from simulator.scoring.identity import format_scores, score

    with _warehouse(read_only=True) as con:
        print(format_scores(score(con, _truth(args, con))))
    return 0


def _attribution_score(args: argparse.Namespace) -> int:
    from simulator.scoring.attribution import ALL_PURCHASES, ONLINE_PURCHASES, format_score, score

    with _warehouse(read_only=True) as con:
        truth = _truth(args, con)
        print(format_score(score(con, truth, ALL_PURCHASES)))
        print()
        print(format_score(score(con, truth, ONLINE_PURCHASES)))
    return 0


def _docs_server():
    """The release reports and Data Docs on loopback at OMNI_DOCS_PORT, where the UI's links point."""
    from orchestration.reporting.docs_site import DATA_DOCS, PUBLISHED, make_server, site_url

    port = settings.get("OMNI_DOCS_PORT")
    if not port.isdigit():
        raise UsageError(f"OMNI_DOCS_PORT must be a port number, not {port!r}")
    roots = {PUBLISHED: settings.publish_dir(), DATA_DOCS: settings.data_docs_dir()}
    try:
        server = make_server(roots, port=int(port))
    except OSError as exc:
        raise CliError(
            f"cannot serve the reports on 127.0.0.1:{port} ({exc.strerror}): another `omnichannel ui` or "
            "`serve-docs` may run; set OMNI_DOCS_PORT (and OMNI_DOCS_URL, if set) to a free port"
        ) from None
    url = site_url(settings.get("OMNI_DOCS_URL"))
    if url is not None and not url.startswith((f"http://127.0.0.1:{port}", f"http://localhost:{port}")):
        print(f"note: OMNI_DOCS_URL is {url}, the UI's links point there, not at this server", file=sys.stderr)
    return server


def _serve_docs(args: argparse.Namespace) -> int:
    server = _docs_server()
    print(
        f"serving {settings.publish_dir()} and {settings.data_docs_dir()} at http://127.0.0.1:{server.server_port}/",
        flush=True,
    )
    print("the Dagster UI's report and Data Docs links open here; Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _ui(args: argparse.Namespace) -> int:
    """`dagster dev` on loopback, with the docs server beside it in this process, both stopped by one Ctrl-C."""
    import os
    import subprocess
    import threading

    from orchestration.runner import prepared_dagster_home

    server = _docs_server()
    threading.Thread(target=server.serve_forever, name="docs-site", daemon=True).start()
    home = prepared_dagster_home(Path(os.environ.get("DAGSTER_HOME") or settings.home_dir() / "dagster_home"))
    dagster = Path(sys.executable).parent / "dagster"
    command = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(args.port)]
    print(
        f"the UI: http://127.0.0.1:{args.port}/ ; the reports and Data Docs it links: http://127.0.0.1:{server.server_port}/",
        flush=True,
    )
    process = subprocess.Popen(command, cwd=settings.PROJECT_ROOT, env={**os.environ, "DAGSTER_HOME": str(home)})
    try:
        return process.wait()
    except KeyboardInterrupt:
        # `dagster dev` got the same interrupt (one process group) and shuts its servers down.
        return process.wait()
    finally:
        server.shutdown()
        server.server_close()


def _command(commands, name: str, help: str) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog=f"example:\n  {EXAMPLES[name]}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="omnichannel",
        description=__doc__.splitlines()[0],
        epilog="examples:\n"
        + "\n".join(f"  {example}" for example in EXAMPLES.values())
        + "\n\nexit status: 0 done, 1 something to fix first (the message says what), 2 bad arguments",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    simulate = _command(commands, "simulate", "write a simulated landing zone with ground truth")
    import simulator

    simulator.add_arguments(simulate)
    simulate.set_defaults(handler=_simulate)

    run = _command(commands, "run", "load the new or changed delivery days of the landing zone, then build and publish")
    run.add_argument("--start", type=_day, help="first delivery day (YYYY-MM-DD)")
    run.add_argument("--end", type=_day, help="last delivery day (YYYY-MM-DD)")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="load every delivery day again, changed or not, and rebuild the incremental models from scratch (after an upgrade, say)",
    )
    run.add_argument(
        "--verbose",
        action="store_true",
        help="print Dagster's events and dbt's output too (by default they go to a file under OMNI_HOME/logs)",
    )
    run.set_defaults(handler=_run)

    explain = _command(commands, "explain", "show a customer and the records that joined its identifiers")
    explain.add_argument("identifier", help="an email, phone, CRM id, cookie, device, ... as typed anywhere")
    explain.set_defaults(handler=_explain)

    forget = _command(commands, "forget", "erase one person from every table and file, and keep them out of replays")
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="an email address the person holds (any case, +tags ignored)")
    who.add_argument("--phone", help="a phone number the person holds, valid for OMNI_PHONE_REGION if national")
    who.add_argument("--customer-id", help="the warehouse customer id (marts.dim_customer)")
    forget.add_argument("--dry-run", action="store_true", help="print what would be erased, erase nothing")
    forget.add_argument(
        "--max-records", type=_count, default=100, help="erase more records than this only with --yes (default 100)"
    )
    forget.add_argument("--yes", action="store_true", help="erase however many records the plan names")
    forget.add_argument("--no-rebuild", action="store_true", help="erase raw data only; rebuild later")
    forget.set_defaults(handler=_forget)

    rewrite = _command(
        commands, "rewrite-warehouse", "copy the warehouse into a fresh file, so no free block keeps erased data"
    )
    rewrite.set_defaults(handler=_rewrite)

    acknowledge = _command(
        commands, "acknowledge-drop", "let the next publication through although these marts lost rows"
    )
    acknowledge.add_argument("marts", nargs="+", metavar="MART", help="a mart of the current publication")
    acknowledge.add_argument("--reason", required=True, help="why the drop is right (kept in the manifest)")
    acknowledge.set_defaults(handler=_acknowledge_drop)

    score = _command(
        commands, "identity-score", "B-cubed precision and recall of identity resolution against simulator truth"
    )
    score.add_argument("--truth", help="the simulator's _truth folder (default: <landing>/_truth)")
    score.set_defaults(handler=_identity_score)
    ranking = _command(
        commands, "attribution-score", "how well each attribution model recovers the simulator's true channel ranking"
    )
    ranking.add_argument("--truth", help="the simulator's _truth folder (default: <landing>/_truth)")
    ranking.set_defaults(handler=_attribution_score)

    ui = _command(commands, "ui", "start the Dagster UI on loopback, with the reports and Data Docs it links served")
    ui.add_argument("--port", type=_count, default=3000, help="the UI's port (default 3000)")
    ui.set_defaults(handler=_ui)
    serve = _command(commands, "serve-docs", "serve the reports and Data Docs the Dagster UI links, on loopback")
    serve.set_defaults(handler=_serve_docs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one command; a `CliError` (a usage error included) becomes one line on stderr and its exit code."""
    # The one place the environment is written: dbt, started by the pipeline, must see the same absolute paths.
    settings.export_defaults()
    exits_after = argv is None  # the console script: the process ends when this returns
    argv = sys.argv[1:] if argv is None else argv
    prog = "omnichannel"
    try:
        args = build_parser().parse_args(argv)
        prog = f"omnichannel {args.command}"
        return args.handler(args)
    except CliError as exc:
        print(f"{exc.prog or prog}: {exc}", file=sys.stderr)
        return exc.exit_code
    except NoDeliveryDays as exc:  # from any command that runs the pipeline
        print(f"{prog}: {exc}: nothing to run", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    finally:
        if exits_after:
            # The interpreter's last garbage collections, at exit, walk every object Dagster, dbt and GX made
            # (seconds after the work is done); they skip frozen objects, whose memory the exit returns anyway.
            gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
