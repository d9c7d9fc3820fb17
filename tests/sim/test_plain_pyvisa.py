"""Every shipped pyvisa-sim file opened the way docs/simulation.md tells plain pyvisa users.

The rows are read from the Markdown itself, so the page, the generator in
`instrumentkit.simfiles` and the files cannot drift apart.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import pyvisa
import yaml

from instrumentkit.simfiles import plain_pyvisa, plain_pyvisa_table, shipped_sim_files

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulation.md"
_TABLE = re.compile(
    r"<!-- plain-pyvisa table: begin -->\n(.*?)<!-- plain-pyvisa table: end -->", re.DOTALL
)
_ROW = re.compile(r"^\| `([\w.]+)` \| `([\w./]+)` \| `(open_resource\(.*\))` \|$", re.MULTILINE)


def documented_rows() -> list[tuple[str, str, str]]:
    (table,) = _TABLE.findall(DOC.read_text(encoding="utf-8"))
    return _ROW.findall(table)


def test_the_page_shows_the_generated_table() -> None:
    (table,) = _TABLE.findall(DOC.read_text(encoding="utf-8"))
    assert table == plain_pyvisa_table()


def test_every_shipped_file_and_resource_is_documented() -> None:
    documented = {(package, file) for package, file, _ in documented_rows()}
    assert documented == set(shipped_sim_files())
    assert len(shipped_sim_files()) >= 12
    resources = sum(len(plain_pyvisa(package, file)) for package, file in shipped_sim_files())
    assert len(documented_rows()) == resources


@pytest.mark.parametrize(("package", "file", "call"), documented_rows())
def test_documented_call_answers_idn(package: str, file: str, call: str, tmp_path: Path) -> None:
    """`ResourceManager(f"{path}@sim")` then the page's exact call: `*IDN?` must answer."""
    entry = next(e for e in plain_pyvisa(package, file) if e.call == call)
    # A copy at a fresh path: pyvisa-sim caches device state per path for the process.
    path = tmp_path / Path(file).name
    shutil.copyfile(entry.path, path)
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    device = spec["devices"][spec["resources"][entry.resource]["device"]]
    idn = next(d["r"] for d in device["dialogues"] if d["q"] == "*IDN?")

    rm = pyvisa.ResourceManager(f"{path}@sim")
    try:
        instrument = eval(f"rm.{call}", {"rm": rm})  # the call exactly as documented
        instrument.timeout = 2000
        assert instrument.query("*IDN?") == idn
        instrument.close()
    finally:
        rm.close()


def test_pyvisa_defaults_time_out_on_an_lf_file(tmp_path: Path) -> None:
    """Why the page gives terminators: without them the same query never ends."""
    (entry,) = plain_pyvisa("instrumentkit.drivers.keysight", "sim/34461a.yaml")
    path = tmp_path / "34461a.yaml"
    shutil.copyfile(entry.path, path)
    rm = pyvisa.ResourceManager(f"{path}@sim")
    try:
        instrument = rm.open_resource(entry.resource, timeout=100)
        with pytest.raises(pyvisa.VisaIOError, match="VI_ERROR_TMO"):
            instrument.query("*IDN?")
    finally:
        rm.close()


@pytest.mark.parametrize(("package", "file"), shipped_sim_files())
def test_each_file_names_its_plain_pyvisa_call(package: str, file: str) -> None:
    """A file opened on its own says how to open it (a comment in its header)."""
    for entry in plain_pyvisa(package, file):
        assert f"# {entry.call}" in entry.path.read_text(encoding="utf-8"), entry.resource


def test_terminators_come_from_each_interfaces_eom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read and write ends may differ per interface; no eom means LF, as in pyvisa-sim."""
    package = tmp_path / "acme_sims"
    (package / "sim").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "sim" / "box.yaml").write_text(
        "spec: '1.1'\n"
        "devices:\n"
        "  BOX:\n"
        "    eom:\n"
        '      ASRL INSTR: {q: "\\r", r: "\\r\\n"}\n'
        "    dialogues: [{q: '*IDN?', r: 'Acme,BOX,1,1'}]\n"
        "resources:\n"
        "  ASRL3::INSTR: {device: BOX}\n"
        "  TCPIP0::127.0.0.1::inst0::INSTR: {device: BOX}\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    serial, lan = plain_pyvisa("acme_sims", "sim/box.yaml")
    assert (serial.resource, serial.read_termination, serial.write_termination) == (
        "ASRL3::INSTR",
        "\r\n",
        "\r",
    )
    assert serial.call == (
        'open_resource("ASRL3::INSTR", read_termination="\\r\\n", write_termination="\\r")'
    )
    assert (lan.read_termination, lan.write_termination) == ("\n", "\n")
    rm = pyvisa.ResourceManager(f"{serial.path}@sim")
    try:
        assert eval(f"rm.{serial.call}", {"rm": rm}).query("*IDN?") == "Acme,BOX,1,1"
    finally:
        rm.close()
