"""The instrumentkit command: list, identify, drivers, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from instrumentkit.cli import main
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.simfiles import sim_path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_drivers_json_lists_registered_drivers():
    result = run("drivers", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["driver"]: row for row in json.loads(result.output)}
    assert rows["Keysight34461A"]["interfaces"] == ["Sensor"]
    assert rows["Keysight34461A"]["pyvisa_sim"] == "sim/34461a.yaml"


def test_identify_on_pyvisa_sim():
    backend = f"{sim_path(Keysight34461A)}@sim"
    result = run("identify", Keysight34461A.sim_resource, "--backend", backend, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["idn"].startswith("Keysight Technologies,34461A")
    assert answer["driver"].endswith("Keysight34461A")


def test_identify_failure_is_one_line_and_nonzero(line_server):
    server = line_server(lambda line: None)
    result = run("identify", server.resource, "--timeout", "0.2")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert "*IDN?" in lines[0]
    assert "Traceback" not in result.output


def test_list_json_runs_without_network():
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    assert all(item["kind"] in {"serial", "visa"} for item in json.loads(result.output))


def test_console_script_and_module_entry_point():
    script = Path(sys.executable).parent / "instrumentkit"
    for command in ([str(script), "--help"], [sys.executable, "-m", "instrumentkit", "--help"]):
        out = subprocess.run(command, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert "identify" in out.stdout


def test_supported_models_page_matches_the_registry():
    page = (Path(__file__).resolve().parents[2] / "docs" / "supported-models.md").read_text()
    table = page.split("<!-- drivers-table -->\n")[1].split("<!-- /drivers-table -->")[0]
    result = run("drivers", "--markdown")
    assert result.exit_code == 0, result.output
    assert table == result.output, "regenerate with `instrumentkit drivers --markdown`"
