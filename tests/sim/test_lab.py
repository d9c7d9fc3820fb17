"""Lab files: validation with errors that name the field, running labs, the default lab."""

from __future__ import annotations

import textwrap
from contextlib import closing

import pytest

from instrumentkit.connect import open_transport
from instrumentkit.errors import ConfigError, ConnectionFailed, Timeout
from instrumentkit.session import Session
from instrumentkit.sim import Lab, ManualClock, default_lab_path, load_lab

GOOD = """
description: two meters and a gauge
devices:
  - name: meter-a
    model: test-meter
    seed: 1
  - name: meter-b
    model: test-meter
    latency: 0.001
  - name: gauge
    model: test-gauge
    transport: serial
  - name: scope
    model: test-scope
    seed: 2
    params:
      sources:
        1: {shape: square, amplitude: 0.5, frequency: 2000}
"""


def write(tmp_path, text: str):
    path = tmp_path / "lab.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_file_loads_with_defaults_filled_in(tmp_path):
    spec = load_lab(write(tmp_path, GOOD))
    assert [d.name for d in spec.devices] == ["meter-a", "meter-b", "gauge", "scope"]
    assert spec.host == "127.0.0.1"
    assert spec.devices[0].transport == "tcp"
    assert spec.devices[3].params["sources"][1]["frequency"] == 2000


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("devices: [{name: a, model: test-meter, port: 70000}]", "devices[0].port", "65535"),
        ("devices: [{name: a, model: test-meter, transport: usb}]", "devices[0].transport", "tcp"),
        ("devices: [{model: test-meter}]", "devices[0].name", "required"),
        ("devices: [{name: a, model: nope}]", "devices[0].model", "test-meter"),
        (
            "devices: [{name: a, model: test-meter, colour: red}]",
            "devices[0].colour",
            "not permitted",
        ),
        ("devices: [{name: 'a b', model: test-meter}]", "devices[0].name", "pattern"),
        (
            "devices: [{name: a, model: test-gauge, transport: serial, port: 5025}]",
            "devices[0]",
            "only",
        ),
        ("devices: [{name: a, model: test-meter}, {name: a, model: test-meter}]", "", "twice"),
        ("hosts: 0.0.0.0", "hosts", "not permitted"),
    ],
)
def test_bad_files_name_the_field(tmp_path, text, field, words):
    with pytest.raises(ConfigError) as caught:
        load_lab(write(tmp_path, text))
    assert words in str(caught.value)
    if field:
        assert caught.value.field == field
    assert str(tmp_path) in str(caught.value)


def test_not_yaml_and_missing_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_lab(write(tmp_path, "devices: [unclosed"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_lab(tmp_path / "missing.yaml")


def test_yaml_tags_are_not_executed(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_lab(write(tmp_path, "devices: !!python/object/apply:os.system ['true']"))


def test_model_parameters_the_model_refuses_name_the_device(tmp_path):
    spec = load_lab(
        write(tmp_path, "devices: [{name: a, model: test-meter, params: {volume: 11}}]")
    )
    with pytest.raises(ConfigError) as caught:
        Lab(spec).start()
    assert caught.value.field == "devices[0].params"
    assert "volume" in str(caught.value)


def test_running_lab_serves_tcp_and_serial_devices(tmp_path):
    with Lab(load_lab(write(tmp_path, GOOD)), clock=ManualClock()) as lab:
        assert list(lab.resources) == ["meter-a", "meter-b", "gauge", "scope"]
        assert lab.resource("gauge") == "iksim://gauge"
        assert lab.resource("meter-a").startswith("TCPIP::127.0.0.1::")
        for name in ("meter-a", "meter-b"):
            with closing(Session(open_transport(lab.resource(name)))) as session:
                assert session.query("*IDN?") == "Acme,METER1,0001,1.0"
        with closing(Session(open_transport(lab.resource("gauge")))) as session:
            session.write_raw(b"\x05")
            assert session.read_bytes(1) == b"\x06"
        assert lab.device("scope").sources[1].shape == "square"
        assert lab.device("meter-b").latency == 0.001
        assert lab.model("scope") == "test-scope"
    with pytest.raises(ConnectionFailed):  # detached on close
        open_transport("iksim://gauge")


def test_the_lab_device_is_the_object_tests_inject_faults_into(tmp_path):
    with Lab(load_lab(write(tmp_path, GOOD))) as lab:
        lab.device("meter-a").faults.inject("no_reply", on="*IDN?")
        session = Session(open_transport(lab.resource("meter-a"), timeout=0.2))
        with closing(session), pytest.raises(Timeout):
            session.query("*IDN?")


def test_unknown_device_name_lists_the_lab(tmp_path):
    with Lab(load_lab(write(tmp_path, GOOD))) as lab, pytest.raises(KeyError, match="meter-a"):
        lab.resource("nope")


def test_default_lab_loads_and_runs():
    spec = load_lab(default_lab_path())
    assert spec.devices, "the default lab lists at least one device"
    with Lab(spec) as lab:
        assert set(lab.resources) == {d.name for d in spec.devices}
        for device in spec.devices:
            if device.transport == "tcp":  # SCPI instruments on raw sockets identify themselves
                transport = open_transport(lab.resource(device.name), timeout=2.0)
                with closing(Session(transport)) as session:
                    assert session.query("*IDN?").count(",") == 3
