"""`omnichannel`: the command-line entry point beside the Dagster UI."""
import argparse
import sys

from orchestration import settings


def _simulate(args: argparse.Namespace) -> int:
    from orchestration import simulator

    return simulator.run_from_args(args)


def _run(args: argparse.Namespace) -> int:
    from orchestration.runner import run_pipeline

    runs = run_pipeline(start=args.start, end=args.end)
    return 0 if runs["success"] else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omnichannel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    simulate = commands.add_parser("simulate", help="write a simulated landing zone with ground truth")
    from orchestration import simulator

    simulator.add_arguments(simulate)
    simulate.set_defaults(handler=_simulate)

    run = commands.add_parser("run", help="materialize every asset for every delivery day in the landing zone")
    run.add_argument("--start", help="first delivery day (YYYY-MM-DD)")
    run.add_argument("--end", help="last delivery day (YYYY-MM-DD)")
    run.set_defaults(handler=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings.apply_defaults()
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
