"""The model registry: SIM_MODELS through the drivers' entry-point group, create(), attach()."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from instrumentkit.errors import ConfigError
from instrumentkit.sim import Device, ScpiDevice, attach, create, detach, models, register_model


@pytest.fixture
def plugin_package(tmp_path, monkeypatch):
    """An installed third-party package declaring `instrumentkit.drivers` entry points."""
    package = tmp_path / "acme_sim_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from instrumentkit.sim import ScpiDevice

            class AcmeWidget(ScpiDevice):
                idn = "Acme,WIDGET,0,1"

            DRIVERS = ()
            SIM_MODELS = {"acme-widget": AcmeWidget}
            """
        )
    )
    (package / "nomodels.py").write_text("DRIVERS = ()\n")
    (package / "broken.py").write_text("raise RuntimeError('plug-in bug')\n")
    (package / "wrong.py").write_text("DRIVERS = ()\nSIM_MODELS = {'acme-bad': int}\n")
    dist = tmp_path / "acme_sim_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-sim-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[instrumentkit.drivers]\n"
        "acme = acme_sim_plugin\n"
        "acme-nomodels = acme_sim_plugin.nomodels\n"
        "acme-broken = acme_sim_plugin.broken\n"
        "acme-wrong = acme_sim_plugin.wrong\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield
    for name in [m for m in sys.modules if m.startswith("acme_sim_plugin")]:
        del sys.modules[name]


def test_models_come_from_entry_points_and_broken_ones_only_warn(plugin_package):
    with pytest.warns(UserWarning, match="acme") as warned:
        found = models()
    messages = " ".join(str(w.message) for w in warned)
    assert "acme-broken" in messages
    assert "plug-in bug" in messages
    assert "acme-bad" in messages
    assert found["acme-widget"].__name__ == "AcmeWidget"
    assert "acme-bad" not in found
    assert "oceaninsight-usb4000" in found  # the project's own drivers, same group
    with pytest.warns(UserWarning, match="acme"):
        assert create("acme-widget").idn == "Acme,WIDGET,0,1"


def test_create_passes_parameters_and_names_unknown_models():
    device = create("test-meter", seed=3, latency=0.25)
    assert device.latency == 0.25
    with pytest.raises(ConfigError, match=r"known: .*test-meter") as caught:
        create("no-such-model")
    assert caught.value.field == "model"
    with pytest.raises(ConfigError, match="volume"):
        create("test-meter", volume=11)


def test_register_model_refuses_what_is_not_a_device():
    with pytest.raises(TypeError):
        register_model("bad", dict)  # type: ignore[arg-type]


def test_attach_refuses_a_second_device_under_one_name():
    first, second = ScpiDevice(), ScpiDevice()
    assert attach("twice", first) == "iksim://twice"
    try:
        assert attach("twice", first) == "iksim://twice"  # the same one again is fine
        with pytest.raises(ValueError, match="already attached"):
            attach("twice", second)
    finally:
        detach("twice")
    with pytest.raises(ValueError, match="without '/'"):
        attach("a/b", Device())


def test_setting_names_may_not_hide_kit_attributes():
    from instrumentkit.sim import Setting

    with pytest.raises(TypeError, match="clock"):

        class Bad(ScpiDevice):
            clock = Setting("SYSTem:CLOCk", 1.0)
