"""Mutation-score one module against only the tests that cover it (mutmut 3).

    pip install -e ".[mutation]"
    python tools/mutation.py instrumentkit/_yaml.py            # tests from MODULES below
    python tools/mutation.py instrumentkit/_yaml.py -- tests/core/test_yaml.py -k dump
    python tools/mutation.py --list                            # the modules and their tests

mutmut copies the sources into `mutants/`, rewrites every function into a trampoline that
calls the original or one mutant, and decides which mutant is active by comparing the
module's `__name__` with the dotted file path. `acquisition/_room.py` imports as
`instrumentkit.acquisition._room`, not `acquisition._room`, so running mutmut in the
checkout would never activate a mutant of `drivers/` or `acquisition/`: every one would
"survive". This script runs mutmut in a scratch copy (never in the checkout, which stays
clean) laid out as the module is imported:

- a core module (`instrumentkit/...`) in the checkout layout, `drivers/` and
  `acquisition/` beside `instrumentkit/` (instrumentkit's own checkout finder maps them, as
  tests such as test_source_tree.py expect);
- a `drivers/` or `acquisition/` module in the installed layout, both folders inside
  `instrumentkit/`, so that the file path and the import name agree.

It then prints caught/total and writes the diff of every mutant not caught to
`survivors.txt` in the scratch copy. Caught is what mutmut calls killed or timeout (a
mutant that loops, or, as exit code 255, one that breaks importing the tests); a survivor
or a mutant that no selected test calls is not caught. docs/testing.md has the scores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The HiSLIP client's tests: its own, the wire-level ones, scripted servers playing a real
# instrument's bytes and IVI-6.1's corners, and pyvisa-py's clients on the share.
_HISLIP_TESTS = [
    "tests/share/test_hislip_transport.py",
    "tests/share/test_hislip_transport_wire.py",
    "tests/share/test_hislip_foreign_servers.py",
    "tests/share/test_hislip_server_corners.py",
    "tests/share/test_hislip_transport_edges.py",
    "tests/share/test_hislip_reply_reading.py",
    "tests/share/test_hislip_drain.py",
    "tests/share/test_hislip_async_channel.py",
    "tests/share/test_hislip_pyvisa.py",
]

# module -> the pytest selection that scores it: its own tests, nothing else. The random
# SIGKILL trials of test_crash.py (seconds each, all in writer subprocesses that mutmut does
# not trace) are left out of _room's selection.
MODULES: dict[str, list[str]] = {
    "instrumentkit/_yaml.py": ["tests/core/test_yaml.py"],
    "instrumentkit/_resync.py": ["tests/core/test_resync.py", "tests/core/test_reconnect.py"],
    "instrumentkit/sourcing.py": ["tests/core/test_sourcing.py"],
    "instrumentkit/validators.py": ["tests/core/test_parameters.py"],
    # mutmut's trampolines add stack frames, so a warning's stacklevel cannot be checked
    # under it: that one test is left out here (it runs in the suite).
    "instrumentkit/parameters.py": [
        "tests/core/test_parameters.py",
        "--deselect",
        "tests/core/test_parameters.py::test_the_unknown_token_warning_points_at_the_line_that_read_it",
    ],
    # The installed copy that one test runs from a temporary folder holds mutmut's
    # trampolines but finds no mutmut configuration there; the other tests cover it.
    "instrumentkit/_source_tree.py": [
        "tests/core/test_source_tree.py",
        "--deselect",
        "tests/core/test_source_tree.py::test_elsewhere_the_installed_package_is_used_alone",
    ],
    "instrumentkit/errors.py": ["tests/core/test_errors.py", "tests/core/test_session.py"],
    "instrumentkit/session.py": ["tests/core/test_session.py", "tests/core/test_reconnect.py"],
    "acquisition/_room.py": [
        "tests/acquisition/test_room.py",
        "tests/acquisition/test_writer.py",
        "tests/acquisition/test_crash.py",
        "-k",
        "not sigkill",
    ],
    # The transports, each against a peer its tests drive byte by byte (a loopback socket,
    # pyserial's loop://, pyvisa-py and pyvisa-sim), plus the shared transport tests.
    "instrumentkit/socket_transport.py": [
        "tests/core/test_reconnect.py",
        "tests/core/test_socket_transport.py",
        "tests/core/test_transports.py",
    ],
    "instrumentkit/serial_transport.py": [
        "tests/core/test_reconnect.py",
        "tests/core/test_serial_transport.py",
        "tests/core/test_transports.py",
    ],
    "instrumentkit/visa_transport.py": [
        "tests/core/test_reconnect.py",
        "tests/core/test_visa_transport.py",
        "tests/core/test_visa_failures.py",
        "tests/core/test_transports.py",
    ],
    # The share's message rules: which program messages expect a reply, where a reply ends.
    "instrumentkit/share/_messages.py": ["tests/share/test_messages.py"],
    "instrumentkit/share/_locks.py": ["tests/share/test_locks.py"],
    # The HiSLIP client, each of its modules against the same fast tests (the soak is left out).
    "instrumentkit/hislip_transport.py": _HISLIP_TESTS,
    "instrumentkit/_hislip_async.py": _HISLIP_TESTS,
    "instrumentkit/_hislip_codes.py": _HISLIP_TESTS,
    "instrumentkit/_hislip_lock.py": _HISLIP_TESTS,
    # The acquisition modules of issue 17, each with the test files that exercise it.
    "acquisition/_config.py": [
        "tests/acquisition/test_config.py",
        "tests/acquisition/test_config_fields.py",
        "tests/acquisition/test_config_check.py",
    ],
    "acquisition/_writer.py": [
        "tests/acquisition/test_writer.py",
        "tests/acquisition/test_writer_declaring.py",
        "tests/acquisition/test_writer_failures.py",
        "tests/acquisition/test_streams.py",
        # add_sweep: one sweep written through the pipeline
        "tests/acquisition/test_sweeps.py::test_a_2d_sweep_is_stored_as_a_grid_with_named_axes",
    ],
    "acquisition/_streams.py": [
        "tests/acquisition/test_streams.py",
        "tests/acquisition/test_writer.py",
        "tests/acquisition/test_writer_declaring.py",
        "tests/acquisition/test_writer_failures.py",
    ],
    "acquisition/_runner.py": ["tests/acquisition/test_runner.py"],
    "acquisition/stages.py": [
        "tests/acquisition/test_stages.py",
        "tests/acquisition/test_stages_edges.py",
    ],
    # One driver per family (issue 17). mutmut runs only the tests that call a mutated
    # function, so a family's whole folder costs little more than the driver's own file.
    "drivers/rigol/ds1000z.py": ["tests/drivers/scopes"],
    "drivers/_oscilloscope.py": ["tests/drivers/scopes"],
    "drivers/lakeshore/model33x.py": [
        "tests/drivers/sensors/test_lakeshore.py",
        "tests/drivers/sensors/test_sim_reply_formats.py",
        "tests/drivers/sensors/test_unknown_tokens_in_run_files.py",
    ],
    "drivers/oceaninsight/_serial_spectrometer.py": ["tests/drivers/spectrometers"],
    # The Ocean byte layer under it: command bytes, frames, compression, handshakes.
    "drivers/oceaninsight/_serial_protocol.py": ["tests/drivers/spectrometers"],
    "drivers/oceaninsight/_serial_link.py": ["tests/drivers/spectrometers"],
    "drivers/keithley/smu2400.py": ["tests/drivers/sources"],
    "drivers/keithley/_smu.py": ["tests/drivers/sources"],
    # Recording and replay (issue 15), in-process on loopback. Left out: the subprocess
    # trials of test_record_files.py (an example script under INSTRUMENTKIT_RECORD,
    # Ctrl-C, the pytest fixture in an inner pytest) and test_recording_docs.py, and the
    # `record serve` CLI trial of test_to_sim_and_serve.py, which mutmut cannot trace.
    "instrumentkit/record/_recorder.py": [
        "tests/record/test_recorder_file.py",
        "tests/record/test_recording_format.py",
        "tests/record/test_record_replay.py",
        "tests/record/test_done_when.py",
    ],
    "instrumentkit/record/_format.py": [
        "tests/record/test_recording_file_text.py",
        "tests/record/test_recorder_file.py",
        "tests/record/test_recording_format.py",
        "tests/record/test_replay_transport.py",
    ],
    "instrumentkit/record/_replay.py": [
        "tests/record/test_replay_transport.py",
        "tests/record/test_recording_format.py",
        "tests/record/test_record_replay.py",
    ],
    "instrumentkit/record/_to_sim.py": [
        "tests/record/test_to_sim_file.py",
        "tests/record/test_to_sim_and_serve.py",
        "tests/record/test_done_when.py",
        "--deselect",
        "tests/record/test_to_sim_and_serve.py::test_a_serial_recording_served_by_the_cli_answers_over_socket_url",
    ],
}

# What the fork server imports before forking each mutant's child: slow to import, never
# mutated. instrumentkit itself and the tests are imported in the child.
PRELOAD = [
    "numpy", "h5py", "yaml", "pydantic", "pyvisa", "pyvisa_py", "pyvisa_sim", "serial",
    "click", "rich", "scipy", "psutil", "_pytest.python", "_pytest.logging",
]  # fmt: skip

# mutmut's exit-code classes (mutmut/stats.py), folded into what the score needs.
CAUGHT = {"killed", "timeout", "segfault", "caught by type check"}


def stage(module: str, workdir: Path) -> str:
    """Copy the sources into `workdir` in the layout `module` imports from; its staged path."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.h5", ".pytest_cache")
    shutil.copytree(ROOT / "instrumentkit", workdir / "instrumentkit", ignore=skip)
    shutil.copytree(ROOT / "tests", workdir / "tests", ignore=skip)
    shutil.copy2(ROOT / "README.md", workdir / "README.md")
    shutil.copytree(ROOT / "examples", workdir / "examples", ignore=skip)
    installed = module.startswith(("drivers/", "acquisition/"))
    for layer in ("drivers", "acquisition"):
        target = workdir / "instrumentkit" / layer if installed else workdir / layer
        shutil.copytree(ROOT / layer, target, ignore=skip)
    return f"instrumentkit/{module}" if installed else module


def write_config(workdir: Path, staged: str, tests: list[str], installed: bool) -> None:
    """The checkout's pyproject (pytest options included) plus this run's [tool.mutmut]."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if "[tool.mutmut]" in pyproject:
        sys.exit("pyproject.toml has its own [tool.mutmut]: this script writes that table")
    also_copy = ["README.md", "examples"]
    if not installed:
        also_copy += ["drivers", "acquisition"]
    table = [
        "",
        "[tool.mutmut]",
        'source_paths = ["instrumentkit"]',
        f"only_mutate = [{json.dumps(staged)}]",
        f"also_copy = {json.dumps(also_copy)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        # In one process: mutmut follows which tests call what in its own process only.
        'pytest_add_cli_args = ["-n", "0"]',
        # The checkout is not a git repository here: compare nothing with git.
        "use_git_change_detection = false",
        # Each mutant's tests run in a fresh child of a server that has imported only
        # third-party modules: the test modules, and the classes they declare, are imported
        # again under the mutant. With plain fork they were imported once, unmutated, so a
        # mutant in code that runs at class creation (Parameter.__init__, __set_name__,
        # __init_subclass__) could never be caught.
        'process_isolation = "forkserver"',
        'forkserver_warmup = "import"',
        'preload_modules_file = "mutation-preload.txt"',
    ]
    (workdir / "pyproject.toml").write_text(pyproject + "\n".join(table) + "\n", encoding="utf-8")
    (workdir / "mutation-preload.txt").write_text("\n".join(PRELOAD) + "\n", encoding="utf-8")


def outcome(workdir: Path, staged: str) -> dict[str, str]:
    """mutant name -> status, from mutmut's own record of the run."""
    from mutmut.stats import status_by_exit_code

    meta = json.loads((workdir / "mutants" / f"{staged}.meta").read_text(encoding="utf-8"))
    return {name: status_by_exit_code[code] for name, code in meta["exit_code_by_key"].items()}


_SHOW = """
import sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
path = sys.argv[1]
for entry in sys.argv[2:]:
    name, _, status = entry.partition("=")
    print(f"# {name}: {status}")
    print(get_diff_for_mutant(name, path=path))
"""


def report_survivors(workdir: Path, staged: str, statuses: dict[str, str]) -> Path:
    """Write the diff of every mutant that was not caught; the file written."""
    uncaught = [f"{n}={s}" for n, s in sorted(statuses.items()) if s not in CAUGHT]
    diffs = subprocess.run(
        [sys.executable, "-c", _SHOW, staged, *uncaught],
        cwd=workdir, capture_output=True, text=True, check=False,
    )  # fmt: skip
    out = workdir / "survivors.txt"
    out.write_text(diffs.stdout + diffs.stderr, encoding="utf-8")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", nargs="?", help="a file path, e.g. instrumentkit/_yaml.py")
    parser.add_argument("tests", nargs="*", help="pytest selection (default: MODULES entry)")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    parser.add_argument("--workdir", type=Path, help="scratch copy (default: a temp folder)")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants (2)")
    parser.add_argument(
        "--mutants", nargs="+", default=[], help="run only these mutant names (globs allowed)"
    )
    args = parser.parse_args()
    if args.list or not args.module:
        for module, tests in MODULES.items():
            print(f"{module}: {' '.join(tests)}")
        return 0
    module = Path(args.module).as_posix()
    tests = args.tests or MODULES.get(module)
    if not tests:
        sys.exit(f"no tests known for {module}: name them after the module (see --list)")
    slug = module.replace("/", "_").removesuffix(".py")
    workdir = args.workdir or Path(tempfile.gettempdir()) / "instrumentkit-mutation" / slug
    staged = stage(module, workdir.resolve())
    write_config(workdir, staged, tests, installed=staged != module)
    run = [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)]
    # Tests run in mutants/: a Python subprocess they start there (`python -c`, crash
    # trials, the checkout-root tests) imports the mutated copy from its current directory
    # and inherits MUTANT_UNDER_TEST, so a mutant is active in it too.
    done = subprocess.run([*run, *args.mutants], cwd=workdir, check=False)
    if done.returncode:
        print(f"mutmut exited with {done.returncode} (scratch copy: {workdir})")
        return done.returncode
    statuses = outcome(workdir, staged)
    counts = Counter(statuses.values())
    caught = sum(counts[s] for s in CAUGHT)
    total = len(statuses)
    survivors = report_survivors(workdir, staged, statuses)
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"\n{module}: {caught}/{total} caught = {100 * caught / max(total, 1):.1f}% ({detail})")
    print(f"tests: {' '.join(tests)}")
    print(f"mutants not caught: {survivors}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
