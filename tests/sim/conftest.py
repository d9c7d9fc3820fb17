"""Test-only device models and fixtures that reach them through the real transports.

The models here exercise the kit; real instruments' models live beside their drivers.
"""

from __future__ import annotations

import itertools
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from instrumentkit.connect import open_transport
from instrumentkit.session import Session
from instrumentkit.sim import (
    Device,
    ManualClock,
    Reply,
    ScpiDevice,
    ScpiError,
    Setting,
    attach,
    binary_block,
    block_payload,
    command,
    detach,
    physics,
    register_model,
    serve,
)

_names = itertools.count()


class Meter(ScpiDevice):
    """A small SCPI meter: settings of every kind, a timed measurement, a block reply."""

    idn = "Acme,METER1,0001,1.0"
    range = Setting("[:SENSe]:VOLTage[:DC]:RANGe", 10.0, limits=(0.1, 1000.0))
    nplc = Setting("[:SENSe]:VOLTage[:DC]:NPLC", 1.0, choices=(0.02, 0.2, 1.0, 10.0, 100.0))
    trigger_source = Setting(
        "TRIGger:SOURce", "IMMediate", choices=("IMMediate", "BUS", "EXTernal")
    )
    output = Setting("OUTPut[:STATe]", False)
    count = Setting("SAMPle:COUNt", 1, limits=(1, 1000))
    label = Setting("DISPlay:TEXT", "")
    scale = Setting("CHANnel<n>:SCALe", 1.0, limits=(1e-3, 10.0), channels=4)
    integration_time = 0.5

    def reset(self) -> None:
        super().reset()
        self.uploaded: dict[str, np.ndarray[Any, Any]] = {}

    @command("INITiate[:IMMediate]")
    def initiate(self) -> None:
        self.start_operation(self.integration_time)

    @command("STATus:DONE?")
    def done(self) -> str:
        return "1" if self.operation_complete else "0"

    @command("READ?")
    def read(self) -> Reply:
        end = self.start_operation(self.integration_time)
        return Reply(f"{self.rng.normal(1.0, 1e-3):+.9E}", at=end)

    @command("CHANnel<n>:DATA?")
    def channel_data(self, n: int) -> str:
        return ",".join(str(n * 10 + i) for i in range(3))

    @command(":TRACe:DATA")
    def upload(self, name: str, block: str) -> None:
        self.uploaded[name.strip('"')] = np.frombuffer(block_payload(block), dtype="<f4")

    @command(":TRACe:DATA?")
    def download(self, name: str) -> bytes:
        return binary_block(self.uploaded[name.strip('"')])

    @command(":WAVeform:DATA?")
    def waveform(self, *params: str) -> bytes:
        kind = params[0] if params else "int16"
        order = params[1] if len(params) > 1 else "<"
        if kind not in ("int8", "int16", "uint16", "float32", "float64"):
            raise ScpiError(-224)
        return binary_block(block_values(kind), byte_order=order)  # type: ignore[arg-type]


def block_values(kind: str, points: int = 5000) -> np.ndarray[Any, Any]:
    """The data Meter's `:WAV:DATA? <kind>` sends, including terminator bytes inside."""
    ramp = np.arange(points) % 251 - 125
    return (ramp * (1.5 if kind.startswith("float") else 1)).astype(kind)


class EnqAckGauge(Device):
    """A non-SCPI serial gauge: ENQ -> ACK, `P` -> `"1.23E-05\\r"`, anything else -> NAK."""

    reply_end = b"\r"

    def receive(self, data: bytes) -> None:
        for byte in data:
            if byte == 0x05:
                self.send(b"\x06", command="ENQ")
            elif byte == ord("P"):
                self.reply(f"{self.pressure:.2E}", command="P")
            else:
                self.send(b"\x15", command="?")

    pressure = 1.23e-5


class Ticker(Device):
    """Talks unprompted: "tick N" every `period` s, queued one ahead from pending_output()."""

    def __init__(self, *, period: float = 0.1, **options: Any) -> None:
        super().__init__(**options)
        self.period = period
        self.ticks = 0
        self.next_at: float | None = None

    def host_connected(self) -> None:
        super().host_connected()
        with self.lock:
            self.ticks = 0
            self.next_at = self.clock.now() + self.period

    def host_disconnected(self) -> None:
        super().host_disconnected()
        with self.lock:
            self.next_at = None

    def pending_output(self) -> None:
        with self.lock:
            if self.next_at is not None and len(self.outbox) == 0:
                self.ticks += 1
                self.send(f"tick {self.ticks}\n".encode(), at=self.next_at, command="tick")
                self.next_at += self.period


class ToyScope(ScpiDevice):
    """A two-channel scope on physics.acquire: 8-bit codes, 10 divisions, preamble query."""

    idn = "Acme,SCOPE2,0001,1.0"
    scale = Setting("CHANnel<n>:SCALe", 1.0, limits=(1e-3, 10.0), channels=2)
    offset = Setting("CHANnel<n>:OFFSet", 0.0, limits=(-50.0, 50.0), channels=2)
    timebase = Setting(":TIMebase:SCALe", 1e-4, limits=(1e-9, 10.0))
    points = Setting(":ACQuire:POINts", 10_000, limits=(100, 1_000_000))
    source = Setting(":WAVeform:SOURce", "CHANnel1", choices=("CHANnel1", "CHANnel2"))
    trigger_level = Setting(":TRIGger:LEVel", 0.0, limits=(-50.0, 50.0))
    trigger_position = Setting(":TRIGger:POSition", 0.5, limits=(0.0, 1.0))
    bits = Setting(":WAVeform:BITS", 8, choices=(8, 16))
    divisions = 10

    def __init__(self, *, sources: dict[int, Any] | None = None, **options: Any):
        super().__init__(**options)
        given = sources or {1: physics.Source(), 2: physics.Source(shape="noise")}
        self.sources = {int(ch): physics.Source.of(spec) for ch, spec in given.items()}

    def _adc(self, channel: int) -> physics.ADC:
        return physics.ADC(
            bits=self.bits,
            full_scale=self.divisions * self.scale[channel],
            center=self.offset[channel],
        )

    @command(":WAVeform:PREamble?")
    def preamble(self) -> str:
        channel = int(self.source[-1])
        adc = self._adc(channel)
        dt = self.timebase * self.divisions / self.points
        return f"{self.points},{dt:.9E},{adc.lsb:.9E},{adc.center:.9E},{self.trigger_position}"

    @command(":WAVeform:DATA?")
    def data(self) -> bytes:
        channel = int(self.source[-1])
        record = physics.acquire(
            self.sources,
            points=self.points,
            sample_interval=self.timebase * self.divisions / self.points,
            rng=self.rng,
            trigger_source=1,
            trigger_level=self.trigger_level,
            trigger_position=self.trigger_position,
        )
        self.last_record = record
        return binary_block(self._adc(channel).encode(record.volts[channel]))


class ToySpectrometer(ScpiDevice):
    """Exposures from physics.Spectrograph; the reply leaves after the integration time."""

    idn = "Acme,SPEC3,0001,1.0"
    integration_time = Setting(":EXPosure:TIME", 0.1, limits=(1e-3, 60.0))
    shutter = Setting(":SHUTter", True)

    def __init__(self, *, spectrograph: physics.Spectrograph | None = None, **options: Any):
        super().__init__(**options)
        self.spectrograph = spectrograph or physics.Spectrograph(
            pixels=1024,
            wavelength_coefficients=(400.0, 0.25, -1e-5),
            lines=(physics.EmissionLine(450.0, 4e4, 0.8), physics.EmissionLine(560.0, 2e4, 1.2)),
        )
        self.saturated = False

    @command(":SPECtrum?")
    def spectrum(self) -> Reply:
        end = self.start_operation(self.integration_time)
        exposure = self.spectrograph.expose(
            self.integration_time, self.rng, shutter_open=self.shutter
        )
        self.saturated = exposure.any_saturated
        return Reply(binary_block(exposure.counts), at=end)

    @command(":SATurated?")
    def saturated_flag(self) -> str:
        return "1" if self.saturated else "0"

    @command(":CALibration:COEFficients?")
    def coefficients(self) -> str:
        return ",".join(f"{c:.9E}" for c in self.spectrograph.wavelength_coefficients)


class ToyThermometer(ScpiDevice):
    """Temperature with drift and noise, read at the device clock's time."""

    idn = "Acme,TEMP4,0001,1.0"

    def __init__(self, *, drift: physics.Drift | None = None, **options: Any):
        super().__init__(**options)
        self.drift = drift or physics.Drift(value=300.0, rate=0.01, noise=0.02)

    @command("MEASure:TEMPerature?")
    def temperature(self) -> str:
        return f"{self.drift.read(self.clock.now(), self.rng):.6f}"

    @command("FETCh:ARRay?")
    def burst(self, count: str) -> str:
        times = self.clock.now() + np.arange(int(count)) * 1.0
        return ",".join(f"{v:.6f}" for v in self.drift.read_many(times, self.rng))


TEST_MODELS: dict[str, type[Device]] = {
    "test-meter": Meter,
    "test-gauge": EnqAckGauge,
    "test-scope": ToyScope,
    "test-spectrometer": ToySpectrometer,
    "test-thermometer": ToyThermometer,
    "test-ticker": Ticker,
}
for _name, _model in TEST_MODELS.items():
    register_model(_name, _model)

Connect = Callable[..., Session]


@pytest.fixture(params=["tcp", "serial"])
def connect(request: pytest.FixtureRequest) -> Iterator[Connect]:
    """`connect(device, timeout=2.0)`: a Session on the device over TCP or `iksim://`."""
    sessions: list[Session] = []
    servers: list[Any] = []
    attached: list[str] = []

    def make(device: Device, *, timeout: float = 2.0) -> Session:
        if request.param == "tcp":
            lab = serve({"dev": device})
            servers.append(lab)
            resource = lab.resource("dev")
        else:
            name = f"test{next(_names)}"
            attached.append(name)
            resource = attach(name, device)
        session = Session(open_transport(resource, timeout=timeout), name=f"sim-{request.param}")
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
    for lab in servers:
        lab.close()
    for name in attached:
        detach(name)


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@contextmanager
def _interrupted_once_serving() -> Iterator[None]:
    """SIGINT this process once the code in the block has put in its own SIGINT handler.

    Compared with the handler in force before, not with Python's default: in a pytest started
    in the background (`pytest &`) SIGINT starts out ignored, and a SIGINT sent before `sim
    serve` takes it over would be ignored, leaving serve running for ever.
    """
    before = signal.getsignal(signal.SIGINT)
    done = threading.Event()

    def interrupt() -> None:
        while not done.wait(0.01):
            if signal.getsignal(signal.SIGINT) is not before:
                signal.raise_signal(signal.SIGINT)
                return

    watcher = threading.Thread(target=interrupt, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


@pytest.fixture
def ctrl_c_once_serving() -> Callable[[], Any]:
    """`with ctrl_c_once_serving(): <run sim serve in this process>`: stopped by a SIGINT."""
    return _interrupted_once_serving
