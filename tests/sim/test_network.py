"""The simulated lab on a network: loopback unless allowed, stable ports, usable resources.

Only loopback addresses are ever bound here: 127.0.0.2 stands for "an address other than
the default", and the refusal of 0.0.0.0 is checked before anything listens.
"""

from __future__ import annotations

import contextlib
import re
import socket
from contextlib import closing

import pytest
import yaml
from click.testing import CliRunner

from instrumentkit.cli import main
from instrumentkit.cli.sim import remote_warning
from instrumentkit.connect import open_transport
from instrumentkit.errors import ConfigError
from instrumentkit.session import Session
from instrumentkit.sim import Lab, serve
from instrumentkit.sim import _server as server_module
from instrumentkit.sim._lab import parse_lab
from instrumentkit.sim._server import advertised_host, is_loopback

LAB = {
    "devices": [
        {"name": "meter", "model": "test-meter"},
        {"name": "gauge", "model": "test-gauge", "transport": "serial"},
    ]
}


@pytest.fixture
def nothing_listens(monkeypatch):
    """Fail the test if anything tries to listen."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError(f"tried to listen on {args}")

    monkeypatch.setattr(server_module.socket, "create_server", refuse)
    return calls


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "lab-pc.example"])
def test_serve_refuses_a_non_loopback_host_without_allow_remote(tmp_path, nothing_listens, host):
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(LAB))
    result = CliRunner().invoke(main, ["sim", "serve", str(path), "--host", host])
    assert result.exit_code == 2, result.output
    assert "--allow-remote" in result.output
    assert host in result.output
    assert nothing_listens == []


def test_a_lab_file_host_needs_allow_remote_in_the_file(nothing_listens):
    data = {"host": "0.0.0.0", "devices": [{"name": "meter", "model": "test-meter"}]}
    with pytest.raises(ConfigError, match="allow_remote: true") as caught:
        Lab(parse_lab(data))
    assert caught.value.field == "host"
    allowed = Lab(parse_lab({**data, "allow_remote": True}))
    assert allowed.allow_remote
    with pytest.raises(ConfigError):
        serve({}, host="0.0.0.0")
    assert nothing_listens == []


def test_loopback_addresses_need_nothing():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "lab-pc"))


def free_port_pair(host: str) -> int:
    """A port p with p and p + 1 free on `host` right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((host, 0))
            base = probe.getsockname()[1]
        if base >= 65535:
            continue
        with socket.socket() as second, contextlib.suppress(OSError):
            second.bind((host, base + 1))
            return base
    raise RuntimeError("no two consecutive free ports")


def test_base_port_gives_stable_ports_and_resources_name_the_address():
    base = free_port_pair("127.0.0.2")
    with Lab(parse_lab(LAB), host="127.0.0.2", base_port=base, serial_over_tcp=True) as lab:
        assert lab.remote_resources == {
            "meter": f"TCPIP::127.0.0.2::{base}::SOCKET",
            "gauge": f"socket://127.0.0.2:{base + 1}",
        }
        with closing(Session(open_transport(lab.remote_resources["meter"], timeout=2))) as s:
            assert s.query("*IDN?") == lab.device("meter").idn


def test_cli_serve_prints_resources_at_the_address_and_ports_asked_for(
    tmp_path, ctrl_c_once_serving
):
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(LAB))
    base = free_port_pair("127.0.0.2")
    with ctrl_c_once_serving():
        result = CliRunner().invoke(
            main, ["sim", "serve", str(path), "--host", "127.0.0.2", "--port", str(base)]
        )
    assert result.exit_code == 0, result.output
    assert f"TCPIP::127.0.0.2::{base}::SOCKET" in result.output
    assert f"socket://127.0.0.2:{base + 1}" in result.output
    assert "warning" not in result.output


def test_a_wildcard_listener_is_advertised_at_this_computers_address(monkeypatch):
    monkeypatch.setattr(server_module, "_primary_address", lambda: "192.0.2.77")
    assert advertised_host("0.0.0.0") == "192.0.2.77"
    assert advertised_host("127.0.0.2") == "127.0.0.2"
    warning = remote_warning("0.0.0.0")
    assert "0.0.0.0" in warning
    assert "192.0.2.77" in warning
    assert "no authentication" in warning


def test_acquire_prints_where_other_computers_reach_the_lab(tmp_path, monkeypatch):
    # As if the lab listened on 0.0.0.0: the run itself still goes over loopback.
    monkeypatch.setattr(server_module, "advertised_host", lambda host: "192.0.2.77")
    config = {
        "lab": "default",
        "instruments": {"dmm": {"device": "dmm"}},
        "streams": {"dmm": {"instrument": "dmm", "rate": 20}},
        "stop": {"duration": 0.3},
        "output": {"path": str(tmp_path / "run.h5")},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["acquire", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert re.search(r"dmm\s+Keysight34461A on TCPIP::192\.0\.2\.77::\d+::SOCKET", result.output)
