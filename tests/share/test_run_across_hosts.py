"""One run records instruments shared by two machines (two shares on loopback here)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from click.testing import CliRunner

from instrumentkit.cli import main
from instrumentkit.connect import open_transport
from instrumentkit.share import InstrumentRules, SharedInstrument, ShareServer
from instrumentkit.sim import Lab, default_lab_path, load_lab


def test_a_run_config_reads_two_shares(tmp_path: Path) -> None:
    spec = load_lab(default_lab_path())
    devices = [d for d in spec.devices if d.name in ("dmm", "temperature")]
    wanted = spec.model_copy(update={"devices": devices, "duts": [], "wiring": []})
    with Lab(wanted) as lab:
        hosts = [
            ShareServer(
                {
                    name: SharedInstrument(
                        name, open_transport(lab.resource(name)), InstrumentRules()
                    )
                },
                port=0,
            ).start()
            for name in ("dmm", "temperature")
        ]
        try:
            config = tmp_path / "run.yaml"
            config.write_text(
                "instruments:\n"
                f"  dmm: {{resource: '{hosts[0].resource('dmm')}'}}\n"
                f"  temperature: {{resource: '{hosts[1].resource('temperature')}'}}\n"
                "streams:\n"
                "  dmm: {instrument: dmm, rate: 10}\n"
                "  temperature: {instrument: temperature, rate: 5}\n"
                "stop: {duration: 1.5}\n"
                f"output: {{path: '{tmp_path / 'run.h5'}'}}\n"
            )
            result = CliRunner().invoke(main, ["acquire", str(config), "--quiet"])
            assert result.exit_code == 0, result.output
        finally:
            for host in hosts:
                host.close()
                for instrument in host.instruments.values():
                    instrument.close()
    with h5py.File(tmp_path / "run.h5", "r") as run:
        entry = run["entry"]
        assert entry["status"][()] == b"completed"
        for name, host in zip(("dmm", "temperature"), hosts, strict=True):
            instrument = entry[f"instrument_{name}"]
            recorded = instrument["resource"][()].decode()  # pyvisa writes TCPIP0::
            assert recorded.endswith(f"::127.0.0.1::hislip_{name},{host.port}::INSTR")
        assert "34461A" in entry["instrument_dmm/idn"][()].decode()
        assert "MODEL336" in entry["instrument_temperature/idn"][()].decode()
        readings = entry["dmm/reading"][()]
        assert len(readings) >= 5
        assert np.isfinite(readings).all()
        assert len(entry["temperature/A"][()]) >= 3
