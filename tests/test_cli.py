"""Every misuse of the `omnichannel` command ends in one line saying what is wrong and a non-zero exit, no traceback."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import simulator
from omnichannel.cli import EXAMPLES, build_parser, main
from orchestration import settings


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """OMNI_HOME in a fresh folder, every other setting at its default; the environment restored afterwards
    (the CLI exports its settings)."""
    saved = dict(os.environ)
    for name in settings.DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMNI_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path / "home"
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> tuple[Path, Path]:
    """Two small simulated landing zones (different seeds): a world and another one."""
    root = tmp_path_factory.mktemp("worlds")
    for name, seed in (("ours", 1), ("theirs", 2)):
        simulator.simulate(root / name, customers=60, days=2, seed=seed)
    return root / "ours", root / "theirs"


def _warehouse_of(landing: Path, path: Path) -> Path:
    """A warehouse whose identity resolution found the world's people exactly (the marts the scorers read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(f"""create table marts.customer_identifier as
            select 'cus_' || person_id as customer_id, identifier_type, identifier_value,
                cast(valid_from as timestamp) as valid_from, cast(valid_to as timestamp) as valid_to
            from read_parquet('{landing / "_truth" / "identifiers.parquet"}') where not is_junk""")
    return path


def _fails(capsys, argv: list[str], exit_code: int) -> str:
    """Runs the command; asserts the exit code and a single line on stderr, no traceback; returns that line."""
    assert main(argv) == exit_code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--start", "2026-03-17", "--end", "banana"], "argument --end: 'banana' is not a date: expected YYYY-MM-DD"),
        (["--start", "2026-02-30"], "argument --start: '2026-02-30' is no day of the calendar"),
        (["--end", "20260317"], "argument --end: '20260317' is not a date: expected YYYY-MM-DD"),
        (["--start", "2026-03-18", "--end", "2026-03-17"], "--start 2026-03-18 is after --end 2026-03-17"),
    ],
)
def test_run_refuses_bad_dates_before_anything_runs(home, worlds, capsys, monkeypatch, argv, expected):
    monkeypatch.setenv("OMNI_LANDING_DIR", str(worlds[0]))
    line = _fails(capsys, ["run", *argv], 2)
    assert line.startswith(f"omnichannel run: {expected}")
    assert not home.exists(), "nothing may be written: no warehouse, no publication"


def test_run_without_a_landing_folder_says_so_at_once(home, capsys):
    line = _fails(capsys, ["run"], 1)
    assert line.startswith(f"omnichannel run: no landing folder at {home / 'landing'}: ")
    assert "omnichannel simulate --out" in line


def test_run_with_no_delivery_day_in_the_range_names_the_days_there_are(home, worlds, capsys, monkeypatch):
    from orchestration.ingestion.landing import landing_days

    monkeypatch.setenv("OMNI_LANDING_DIR", str(worlds[0]))
    days = landing_days(worlds[0])
    line = _fails(capsys, ["run", "--start", "2030-01-01"], 1)
    assert line == (
        f"omnichannel run: no delivery days in {worlds[0]} between 2030-01-01 and the last "
        f"(it holds {days[0]} .. {days[-1]}): nothing to run"
    )


@pytest.mark.parametrize(
    "option, expected",
    [
        (["--customers", "0"], "argument --customers: expected a whole number of at least 1, got '0'"),
        (["--days", "-1"], "argument --days: expected a whole number of at least 1, got '-1'"),
        (["--seed", "-3"], "argument --seed: expected a whole number of at least 0, got '-3'"),
        (["--start", "03/01/2026"], "argument --start: '03/01/2026' is not a day: expected YYYY-MM-DD"),
        (
            ["--fault", "drop:webb:2026-03-01:0.5"],
            "argument --fault: bad --fault 'drop:webb:2026-03-01:0.5': unknown source 'webb'; known: email, sms, push, "
            "web, app, ads, social, orders, pos, support, crm",
        ),
        (
            ["--fault", "drop:web:2027-03-01:0.5"],
            "argument --fault: 'drop:web:2027-03-01:0.5' names a day outside the simulated 2026-03-01 .. 2026-03-14",
        ),
        (
            ["--fault", "drop:web:2026-03-01:2"],
            "argument --fault: bad --fault 'drop:web:2026-03-01:2': a drop fraction",
        ),
        (["--rate", "dupes=0.1"], "argument --rate: bad --rate 'dupes=0.1': unknown rate 'dupes'; known: duplicate, "),
        (["--rate", "late=1.5"], "argument --rate: bad --rate 'late=1.5': expected a share between 0 and 1"),
        (["--gzip-share", "half"], "argument --gzip-share: expected a share between 0 and 1, got 'half'"),
    ],
)
def test_simulate_refuses_bad_options_and_writes_nothing(home, tmp_path, capsys, option, expected):
    out = tmp_path / "landing"
    line = _fails(capsys, ["simulate", "--out", str(out), *option], 2)
    assert line.startswith(f"omnichannel simulate: {expected}"), line
    assert not out.exists()


def test_simulate_will_not_replace_folders_of_a_folder_it_did_not_write(home, tmp_path, capsys):
    precious = tmp_path / "documents"
    (precious / "web").mkdir(parents=True)
    (precious / "web" / "notes.txt").write_text("mine")
    line = _fails(capsys, ["simulate", "--out", str(precious)], 2)
    assert "is not empty and holds no earlier simulation" in line
    assert (precious / "web" / "notes.txt").read_text() == "mine"
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    assert "is a file, not a folder" in _fails(capsys, ["simulate", "--out", str(a_file)], 2)


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "jane@example.com"],
        ["identity-score"],
        ["attribution-score"],
        ["forget", "--email", "a@b.example"],
    ],
)
def test_commands_that_read_the_warehouse_say_there_is_none_yet(home, capsys, argv):
    line = _fails(capsys, argv, 1)
    warehouse = home / "warehouse.duckdb"
    assert line == (
        f"omnichannel {argv[0]}: no warehouse at {warehouse}: run `omnichannel run` first "
        "(or point OMNI_WAREHOUSE at one)"
    )
    assert not warehouse.exists()


@pytest.mark.parametrize("identifier", ["nobody@nowhere.example", "", "   "])
def test_explain_of_an_identifier_nobody_holds_exits_1(home, worlds, capsys, identifier):
    _warehouse_of(worlds[0], home / "warehouse.duckdb")
    line = _fails(capsys, ["explain", identifier], 1)
    assert line.startswith(f"omnichannel explain: no customer holds {identifier!r}")


def test_identity_score_refuses_another_worlds_truth(home, worlds, capsys, monkeypatch):
    ours, theirs = worlds
    monkeypatch.setenv("OMNI_LANDING_DIR", str(ours))
    _warehouse_of(ours, home / "warehouse.duckdb")
    assert main(["identity-score"]) == 0
    assert "people" in capsys.readouterr().out
    line = _fails(capsys, ["identity-score", "--truth", str(theirs / "_truth")], 1)
    assert line.startswith(
        f"omnichannel identity-score: {theirs / '_truth'} is not the truth of this warehouse's world: only "
    )
    assert "identifiers in the warehouse" in line
    line = _fails(capsys, ["attribution-score", "--truth", str(theirs / "_truth")], 1)
    assert "is not the truth of this warehouse's world" in line
    line = _fails(capsys, ["identity-score", "--truth", str(home / "nowhere")], 1)
    assert line.startswith(f"omnichannel identity-score: no simulator truth at {home / 'nowhere'}")


def test_a_warehouse_without_the_marts_asks_for_a_run(home, capsys):
    home.mkdir()
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("create schema raw")  # what a first run killed during ingestion leaves
    line = _fails(capsys, ["explain", "jane@example.com"], 1)
    assert line.startswith(
        f"omnichannel explain: the warehouse at {home / 'warehouse.duckdb'} lacks what this "
        "command reads (Catalog Error: "
    )
    assert line.endswith("run `omnichannel run` to build it")


def test_a_warehouse_held_by_another_process_names_it(home, worlds, capsys, monkeypatch):
    monkeypatch.setenv("OMNI_LANDING_DIR", str(worlds[0]))
    warehouse = _warehouse_of(worlds[0], home / "warehouse.duckdb")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(120)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        for argv in (["explain", "jane@example.com"], ["run"]):
            line = _fails(capsys, argv, 1)
            assert f"the warehouse at {warehouse} is in use by process {holder.pid} (" in line
            assert line.endswith("wait for it to finish, or stop it if it is left over from a killed run")
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(
    "argv, expected",
    [
        ([], "omnichannel: the following arguments are required: command (see `omnichannel --help`)"),
        (["rum"], "omnichannel: argument command: invalid choice: 'rum'"),
        (["forget"], "omnichannel forget: one of the arguments --email --phone --customer-id is required"),
        (["explain"], "omnichannel explain: the following arguments are required: identifier"),
        (["run", "--days", "3"], "omnichannel: unrecognized arguments: --days 3"),
    ],
)
def test_argument_errors_are_one_line_with_exit_2(home, capsys, argv, expected):
    assert _fails(capsys, argv, 2).startswith(expected)


def test_help_shows_an_example_for_every_command_and_each_example_parses(home, capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    overview = capsys.readouterr().out
    for command, example in EXAMPLES.items():
        assert example in overview
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert f"example:\n  {example}" in capsys.readouterr().out
        args = build_parser().parse_args(shlex.split(example)[1:])
        assert args.command == command
    assert set(EXAMPLES) == set(build_parser()._subparsers._group_actions[0].choices)


def test_the_installed_command_exits_2_on_bad_dates_without_a_traceback(home):
    command = Path(sys.executable).parent / "omnichannel"
    done = subprocess.run(
        [str(command), "run", "--start", "2026-03-17", "--end", "banana"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMNI_HOME": str(home)},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "omnichannel run: argument --end: 'banana' is not a date: expected YYYY-MM-DD (see `omnichannel run --help`)"
    ]


def test_an_unreadable_landing_file_stops_the_run_with_one_line_naming_it(home, tmp_path, capfd, monkeypatch):
    landing = tmp_path / "landing"
    simulator.simulate(landing, customers=40, days=1, seed=3)
    broken = sorted(landing.glob("*/2026-03-01/*.gz"))[0]
    broken.write_bytes(b"not gzip at all")
    monkeypatch.setenv("OMNI_LANDING_DIR", str(landing))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run", "--end", "2026-03-01"]) == 1
    captured = capfd.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("omnichannel run: stopped: raw_")
    assert f"{broken}: cannot be read as text lines" in last
    assert last.endswith("(nothing was transformed or published)")
    assert not (home / "published").exists()
    # Quiet by default: the run's own lines on the terminal, Dagster's events and the failure's detail in a file.
    assert len(captured.out.splitlines()) <= 5 and len(captured.err.splitlines()) == 1, captured
    (details,) = (home / "logs").glob("run-*.log")
    assert f"details (Dagster's events, dbt's output): {details}" in captured.out
    assert "STEP_FAILURE" in details.read_text() and "STEP_FAILURE" not in captured.out + captured.err
    # --verbose prints them instead.
    assert main(["run", "--end", "2026-03-01", "--verbose"]) == 1
    verbose = capfd.readouterr()
    assert "STEP_FAILURE" in verbose.out + verbose.err and "details (" not in verbose.out
