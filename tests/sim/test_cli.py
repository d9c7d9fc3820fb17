"""`instrumentkit sim`: serve a lab, list models; Ctrl-C in a real process stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from contextlib import closing

from click.testing import CliRunner

from instrumentkit.cli.sim import sim
from instrumentkit.connect import open_transport
from instrumentkit.errors import ConfigError
from instrumentkit.session import Session

LAB = """
description: cli test lab
devices:
  - name: meter
    model: test-meter
  - name: gauge
    model: test-gauge
    transport: serial
"""

# The subprocess has no test models; it serves the real default lab plus a kit-only model.
SUBPROCESS_LAB = """
devices:
  - name: spectrometer
    model: oceaninsight-usb4000
    transport: serial
"""


def test_models_lists_the_registry():
    result = CliRunner().invoke(sim, ["models"])
    assert result.exit_code == 0, result.output
    assert "test-meter" in result.output
    assert "oceaninsight-usb4000" in result.output


def test_serve_refuses_a_bad_file_naming_the_field(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text("devices: [{name: a, model: test-meter, port: -1}]")
    result = CliRunner().invoke(sim, ["serve", str(path)])
    assert isinstance(result.exception, ConfigError)
    assert result.exception.field == "devices[0].port"


def test_serve_prints_the_table_and_stops_on_sigint(tmp_path, ctrl_c_once_serving):
    path = tmp_path / "lab.yaml"
    path.write_text(textwrap.dedent(LAB))

    with ctrl_c_once_serving():
        result = CliRunner().invoke(sim, ["serve", str(path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"meter\s+.*test-meter\s+.*TCPIP::127\.0\.0\.1::\d+::SOCKET", result.output)
    assert re.search(r"gauge\s+.*test-gauge\s+.*socket://127\.0\.0\.1:\d+", result.output)
    assert result.output.rstrip().endswith("Stopped.")


def test_ctrl_c_stops_a_real_server_process(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(textwrap.dedent(SUBPROCESS_LAB))
    code = "import sys; from instrumentkit.cli.sim import sim; sim.main(sys.argv[1:])"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        url = None
        assert process.stdout is not None
        for line in process.stdout:
            found = re.search(r"socket://127\.0\.0\.1:\d+", line)
            url = url or (found.group(0) if found else None)
            if "press Ctrl-C" in line:
                break
        assert url is not None
        # Another process reaches the serial device through pyserial's socket:// URL.
        with closing(Session(open_transport(url, timeout=2.0))) as session:
            session.write_raw(b"v")  # firmware version in the USB4000's binary protocol
            assert session.read_bytes(3) == b"\x06" + (3000).to_bytes(2, "big")  # ACK, 3000
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "Stopped." in out
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


WIRED_LAB = """
description: wired cli lab
devices:
  - {name: fgen, model: keysight-33522b}
  - {name: scope, model: rigol-ds1054z}
  - {name: psu, model: keysight-e36312a}
duts:
  - {name: rc, model: rc-lowpass, params: {resistance: 1000.0}}
  - {name: stage, model: thermal-stage}
wiring:
  - {from: fgen.1, to: rc, then: scope.3}
  - {from: psu.2, to: stage, slew: 0.5}
"""


def test_serve_shows_the_duts_and_the_wiring(tmp_path, monkeypatch, ctrl_c_once_serving):
    path = tmp_path / "lab.yaml"
    path.write_text(textwrap.dedent(WIRED_LAB))
    monkeypatch.setenv("COLUMNS", "200")

    with ctrl_c_once_serving():
        result = CliRunner().invoke(sim, ["serve", str(path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"rc\s+.*rc-lowpass\s+.*resistance=1000\.0", result.output)
    assert re.search(r"stage\s+.*thermal-stage\s+.*defaults", result.output)
    assert re.search(r"fgen\.1\s+.*rc\s+.*scope\.3\s+.*-", result.output)
    assert re.search(r"psu\.2\s+.*stage\s+.*-\s+.*0\.5", result.output)
