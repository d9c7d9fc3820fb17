"""The documentation's examples, run as written, so the docs cannot drift from the code.

Snippets are taken from the Markdown files themselves; where a snippet names real hardware
the test swaps in the simulated lab or pyvisa-sim and says so next to the swap.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import instrumentkit as ik

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
INSTRUMENTKIT = Path(sys.executable).with_name("instrumentkit")


def fenced(document: Path, language: str) -> list[str]:
    """The code blocks of `document` fenced as ```language, in order."""
    text = document.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def replaced(code: str, old: str, new: str) -> str:
    assert old in code, f"the snippet no longer contains {old!r}: update this test"
    return code.replace(old, new)


def nested(outer: str, inner: str, after: str) -> str:
    """`inner` placed inside `outer`'s block that starts at the line `after`."""
    lines = outer.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith(after))
    indent = " " * (len(lines[index]) - len(lines[index].lstrip()) + 4)
    end = index + 1
    while end < len(lines) and lines[end].startswith(indent):
        end += 1
    body = textwrap.indent(inner, indent).splitlines()
    return "\n".join(lines[:end] + body + lines[end:]) + "\n"


# -- writing-a-driver.md ------------------------------------------------------------------------


def test_writing_a_driver_example_passes_its_own_tests(tmp_path: Path) -> None:
    """The page's driver, its pyvisa-sim YAML and its four tests, as a package of their own."""
    document = DOCS / "writing-a-driver.md"
    driver, tests = fenced(document, "python")[:2]
    (sim_yaml,) = fenced(document, "yaml")
    files = {"mypackage/acme_ps.py": driver, "tests/test_acme_ps.py": tests}
    for path, code in files.items():
        assert code.startswith(f"# {path}\n"), f"snippet should start with '# {path}'"
    files["mypackage/sim/ps2000.yaml"] = sim_yaml
    files["mypackage/__init__.py"] = ""
    for path, code in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(code, encoding="utf-8")

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


# -- README.md and getting-started.md ------------------------------------------------------------


def test_readme_lab_script_on_pyvisa_sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_dmm, stream = fenced(ROOT / "README.md", "python")
    code = replaced(
        nested(open_dmm, stream, 'with ik.open("TCPIP::192.168.1.20::INSTR") as dmm:'),
        'ik.open("TCPIP::192.168.1.20::INSTR")',
        "__import__('instrumentkit.drivers.keysight').drivers.keysight.Keysight34461A.open_sim()",
    )
    # pyvisa-sim's reading memory always holds five readings.
    code = replaced(code, "read_many(100)", "read_many(5)")
    namespace: dict[str, object] = {}
    exec(code, namespace)

    readings = namespace["readings"]
    assert isinstance(readings, ik.Reading)
    assert readings.values.shape == (5, 1)
    assert len(readings.timestamps_ns) == 5
    with ik.open_run("bench.h5") as run:
        assert run.status == "completed"
        assert run["dmm"].data.shape == (100,)
        assert run.instruments["dmm"].settings_start["voltage_range"]["value"] == 10.0


def test_getting_started_settings_on_pyvisa_sim() -> None:
    from instrumentkit.drivers.keysight import Keysight34461A

    snippet = fenced(DOCS / "getting-started.md", "python")[1]
    with Keysight34461A.open_sim() as dmm:
        for line in snippet.splitlines():
            if "ValidationError" in line:
                with pytest.raises(ik.ValidationError, match="nplc"):
                    exec(line, {"dmm": dmm})
            else:
                exec(line, {"dmm": dmm})
        snapshot = dmm.snapshot()
    assert snapshot["nplc"] == {"value": 10.0, "units": "PLC"}
    assert snapshot["function"]["value"] == "ac_voltage"


def test_getting_started_nplc_bytes() -> None:
    """'dmm.nplc = 10  # sent as VOLT:DC:NPLC 10'."""
    from instrumentkit.drivers.keysight import Keysight34461A
    from instrumentkit.testing import expected_protocol

    assert "sent as VOLT:DC:NPLC 10" in fenced(DOCS / "getting-started.md", "python")[1]
    with expected_protocol(Keysight34461A, [("VOLT:DC:NPLC 10", None)]) as dmm:
        dmm.nplc = 10


# -- tutorial.md -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tutorial_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial's run config, recorded by `instrumentkit acquire` (shortened to 1.5 s)."""
    folder = tmp_path_factory.mktemp("tutorial")
    (config,) = [y for y in fenced(DOCS / "tutorial.md", "yaml") if "streams:" in y]
    (folder / "simulated_lab.yaml").write_text(config, encoding="utf-8")
    done = subprocess.run(
        [str(INSTRUMENTKIT), "acquire", "simulated_lab.yaml", "-o", "run.h5", "--duration", "1.5"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Run completed: duration of 1.5 s reached" in done.stdout
    return folder


def test_tutorial_reads_the_run_in_python(
    tutorial_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tutorial_run)
    python = fenced(DOCS / "tutorial.md", "python")
    exec(python[0], {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "completed duration of 1.5 s reached"
    assert printed[1].startswith("('dmm', 'errors', 'scope_ch1', 'scope_ch2', 'spectrometer'")
    assert printed[2] == "{'value': 1.0, 'units': 'PLC'}"
    assert printed[3].endswith(", 1200) V")

    exec(python[1], {"ik": ik})
    brightest = float(capsys.readouterr().out.splitlines()[0])
    assert brightest == pytest.approx(546.09, abs=0.5)  # the Hg line the docs name


def test_tutorial_lab_script_and_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    script, pipeline = fenced(DOCS / "tutorial.md", "python")[2:4]
    pipeline = replaced(pipeline, "Stop(duration=3)", "Stop(duration=1)")
    exec(nested(script, pipeline, "with dmm, spectrometer:"), {})
    assert capsys.readouterr().out.startswith("completed duration of 1 s reached {'dmm': ")

    with ik.open_run("script.h5") as run:
        assert run.status == "completed"
        assert set(run.streams) >= {"dmm", "spectrometer", "step"}
        assert run["spectrometer"].data.shape[0] == 10
        assert run["step"].units["setpoint"] == "V"
        assert list(run["step"]["index"]) == list(range(10))
    with ik.open_run("piped.h5") as run:
        assert run.status == "completed"
        assert set(run.instruments) == {"dmm", "spectrometer"}
        assert run["dmm"].data.shape[0] > 0


def test_run_file_reading_examples(tutorial_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tutorial_run)
    with_open_run, with_h5py = fenced(DOCS / "run-file.md", "python")
    namespace: dict[str, object] = {}
    exec(replaced(with_open_run, '"big.h5"', '"run.h5"'), namespace)
    assert namespace["mean_trace"].shape == (1200,)
    assert namespace["scope"].sizes["sample"] == 1200
    assert namespace["dmm"].units["reading"] == "V"
    exec(with_h5py, namespace)
    assert namespace["status"] == "completed"
    assert namespace["unit"] == "V"
    assert namespace["settings"]["nplc"] == {"value": 1.0, "units": "PLC"}
    assert len(namespace["t_ns"]) == len(namespace["volts"]) > 0


# -- simulation.md -----------------------------------------------------------------------------


def test_simulation_plain_pyvisa_lab_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The page's pyvisa-py session against the default simulated lab, run for real."""
    (code,) = [c for c in fenced(DOCS / "simulation.md", "python") if "default_lab_path()" in c]
    assert 'ResourceManager("@py")' in code
    exec(code, {})
    idn, kelvin = capsys.readouterr().out.splitlines()
    assert idn.startswith("Keysight Technologies,34461A,")
    assert 1.0 < float(kelvin) < 400.0


def test_simulation_plain_pyvisa_file_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page's pyvisa-sim snippet, on a copy of the file (pyvisa-sim caches per path)."""
    (code,) = [c for c in fenced(DOCS / "simulation.md", "python") if "@sim" in c]
    from instrumentkit.drivers.keysight import Keysight34461A
    from instrumentkit.simfiles import sim_path

    copy = tmp_path / "34461a.yaml"
    copy.write_bytes(sim_path(Keysight34461A).read_bytes())
    code = replaced(
        code,
        'importlib.resources.files("instrumentkit.drivers.keysight") / "sim/34461a.yaml"',
        repr(str(copy)),
    )
    exec(code, {})
    assert capsys.readouterr().out.startswith("Keysight Technologies,34461A,")


def test_simulation_page_gives_terminators_to_every_plain_pyvisa_open() -> None:
    """Every open_resource on the page, code or comment, names its read termination."""
    text = (DOCS / "simulation.md").read_text(encoding="utf-8")
    calls = re.findall(r"open_resource\((.*?)\)(?:\n|`)", text, flags=re.DOTALL)
    assert len(calls) >= 20
    for call in calls:
        assert "read_termination=" in call, call


def test_tutorial_derived_array_with_its_own_axis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fft = next(code for code in fenced(DOCS / "tutorial.md", "python") if "AxisArray" in code)
    exec(fft, {"ik": ik})
    with ik.open_run("fft.h5") as run:
        stream = run["fft"]
        assert stream.kind == "axis_arrays"
        assert stream.units["frequency"] == "Hz"
        peak = stream.axes["frequency"][int(stream.data[0].argmax())]
        assert peak == pytest.approx(50.0)
        assert stream.data[0].max() == pytest.approx(1.0, abs=0.01)  # a 1 V sine
