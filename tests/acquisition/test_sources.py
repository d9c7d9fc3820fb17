"""Sources: one poll each, against the interfaces, with in-process synthetic instruments."""

from __future__ import annotations

import functools
import threading

import numpy as np
import pytest

from instrumentkit.acquisition import (
    CallableSource,
    ScopeSource,
    SensorSource,
    SpectrumSource,
    SweepSource,
)
from instrumentkit.acquisition._sources import channel_label
from instrumentkit.acquisition.synthetic import (
    SyntheticScope,
    SyntheticSensor,
    SyntheticSpectrometer,
)
from instrumentkit.data import Reading, Spectrum, Waveform
from instrumentkit.interfaces import Oscilloscope, Sensor, Spectrometer


def test_synthetic_instruments_satisfy_the_interfaces() -> None:
    assert isinstance(SyntheticSensor(), Sensor)
    assert isinstance(SyntheticScope(), Oscilloscope)
    assert isinstance(SyntheticSpectrometer(), Spectrometer)


def test_sensor_source_reads_one_sample_per_poll_or_a_batch() -> None:
    sensor = SyntheticSensor("dmm", channels=("a", "b"), units=("V", "A"))
    single = SensorSource(sensor, rate=10)
    assert single.instrument == "dmm"
    assert single.streams == ("dmm",)
    [(stream, reading)] = single.poll()
    assert stream == "dmm"
    assert isinstance(reading, Reading)
    np.testing.assert_array_equal(reading.values, [[0.0, 1e6]])
    batched = SensorSource(sensor, stream="fast", batch=100)
    [(stream, block)] = batched.poll()
    assert stream == "fast"
    np.testing.assert_array_equal(block.values[:, 0], np.arange(1, 101))
    assert block.units == ("V", "A")


def test_scope_source_arms_once_and_feeds_one_stream_per_channel() -> None:
    scope = SyntheticScope("scope", points=50)
    source = ScopeSource(scope, [1, "CH2", "math"])
    assert source.streams == ("scope_ch1", "scope_ch2", "scope_math")
    first = source.poll()
    second = source.poll()
    assert scope.triggers == 2
    assert [name for name, _ in first] == list(source.streams)
    assert all(isinstance(w, Waveform) and len(w) == 50 for _, w in first)
    assert first[0][1].y[0] == 0.0
    assert second[0][1].y[0] == 1.0  # the trigger counter: a fresh acquisition


def test_channel_labels() -> None:
    assert [channel_label(c) for c in (1, "2", " CH3", "MATH")] == ["ch1", "ch2", "ch3", "math"]
    with pytest.raises(ValueError, match="repeat a channel"):
        ScopeSource(SyntheticScope(), [1, "1"])


def test_spectrum_source_acquires() -> None:
    spectrometer = SyntheticSpectrometer("osa", pixels=64)
    [(stream, spectrum)] = SpectrumSource(spectrometer).poll()
    assert stream == "osa"
    assert isinstance(spectrum, Spectrum)
    assert spectrum.intensities.shape == (64,)


def test_sweep_sets_each_value_settles_and_reads_every_sensor() -> None:
    set_values: list[float] = []
    dmm = SyntheticSensor("dmm", units=("V",))
    meter = SyntheticSensor("meter", channels=("p",), units=("W",))
    sweep = SweepSource(
        "voltage",
        [0.0, 0.5, 1.0],
        set=set_values.append,
        readers={"dmm": dmm, "meter": meter},
        stream="iv",
        units="V",
    )
    assert sweep.count == 3
    points = [sweep.poll()[0][1] for _ in range(3)]
    assert set_values == [0.0, 0.5, 1.0]
    assert [f.name for f in points[0].fields] == ["dmm.value", "meter.p"]
    assert [f.units for f in points[0].fields] == ["V", "W"]
    assert [p.index for p in points] == [(0,), (1,), (2,)]
    assert [p.coordinates["voltage"] for p in points] == [0.0, 0.5, 1.0]
    np.testing.assert_array_equal([p.values[0] for p in points], [0, 1, 2])


def test_sweep_setter_can_be_an_attribute() -> None:
    class Supply:
        voltage = 0.0

    psu = Supply()
    sweep = SweepSource(
        "voltage",
        [2.5],
        set=functools.partial(setattr, psu, "voltage"),
        readers={"dmm": SyntheticSensor()},
    )
    sweep.poll()
    assert psu.voltage == 2.5


def test_sweep_settle_returns_early_when_the_run_stops() -> None:
    stop = threading.Event()
    sweep = SweepSource("v", [1.0], set=lambda v: None, readers={"s": SyntheticSensor()},
                        settle=60.0)  # fmt: skip
    sweep.bind_stop(stop)
    stop.set()
    assert sweep.poll() == []  # did not wait a minute, did not read


def test_callable_source_wraps_numbers_and_arrays() -> None:
    numbers = iter([1.5, 2.5])
    source = CallableSource(lambda: next(numbers), stream="temp", units="K")
    [(_, reading)] = source.poll()
    assert reading.channels == ("temp",)
    assert reading.units == ("K",)
    assert reading.value == 1.5
    array_source = CallableSource(lambda: np.zeros((2, 3)), stream="img")
    assert array_source.poll()[0][1].shape == (2, 3)
    with pytest.raises(TypeError, match="returned a str"):
        CallableSource(lambda: "text", stream="bad").poll()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SensorSource(SyntheticSensor(), rate=0), "rate must be > 0"),
        (lambda: SensorSource(SyntheticSensor(), count=0), "count must be >= 1"),
        (lambda: SensorSource(SyntheticSensor(), batch=0), "batch must be >= 1"),
        (lambda: ScopeSource(SyntheticScope(), []), "at least one channel"),
        (lambda: SweepSource("v", [], set=print, readers={"s": SyntheticSensor()}), "no values"),
        (lambda: SweepSource("v", [1], set=print, readers={}), "at least one sensor"),
        (
            lambda: SweepSource("v", [1], set=print, readers={"s": SyntheticSensor()}, settle=-1),
            "settle must be >= 0",
        ),
    ],
)
def test_bad_source_arguments_are_refused(build, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        build()


def test_an_unnamed_instrument_streams_under_its_driver_name() -> None:
    # Opened without a name, an instrument goes by its resource: no name for a stream.
    for resource in ("TCPIP::127.0.0.1::5025::SOCKET", "iksim://gauge", "/dev/ttyUSB0"):
        source = SensorSource(SyntheticSensor(resource))
        assert source.streams == ("syntheticsensor",)
        assert source.instrument == "syntheticsensor"
    assert SensorSource(SyntheticSensor("dmm")).streams == ("dmm",)
