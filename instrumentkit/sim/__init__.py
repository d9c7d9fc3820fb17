"""The simulated lab: device models that speak real protocols over real transports.

Write a model::

    from instrumentkit.sim import ScpiDevice, Setting, command, binary_block

    class Scope(ScpiDevice):
        idn = "Acme,SCOPE1,0001,1.0"
        points = Setting(":WAVeform:POINts", 1000, limits=(100, 100_000))

        @command(":WAVeform:DATA?")
        def data(self) -> bytes:
            return binary_block(self.rng.integers(-128, 128, self.points, dtype="i1"))

Reach it the way a real instrument is reached::

    with serve({"scope": Scope(seed=1)}) as lab:      # TCPIP::127.0.0.1::<port>::SOCKET
        ...
    attach("scope", Scope())                          # serial: iksim://scope
    # or a registered model:                            iksim://model/<name>?seed=1

Make it misbehave: `device.faults.inject("no_reply", on=":WAV:DATA?")`.
Run a whole lab from a file: `with Lab(load_lab("lab.yaml")) as lab: lab.resource("dmm")`.
Wire a lab (sources drive DUTs, signals reach inputs): `duts:` and `wiring:` in the lab
file; device models offer `ports()` (`SignalOut`, `DriveOut`, `SignalIn`), DUT physics is
in `instrumentkit.sim.dut`. Physics for models lives in `instrumentkit.sim.physics`.
Importing this package registers the `iksim://` pyserial URL scheme.
"""

import serial

from instrumentkit.sim._blocks import binary_block
from instrumentkit.sim._clock import Clock, ManualClock, SystemClock
from instrumentkit.sim._device import Device, Packet
from instrumentkit.sim._faults import Fault, FaultKind
from instrumentkit.sim._lab import DeviceSpec, Lab, LabSpec, default_lab_path, load_lab
from instrumentkit.sim._registry import attach, create, detach, models, register_model
from instrumentkit.sim._scpi import Reply, ScpiDevice, command
from instrumentkit.sim._scpi_syntax import block_payload
from instrumentkit.sim._server import LabServer, serve
from instrumentkit.sim._settings import ScpiError, Setting, numeric_parameter
from instrumentkit.sim._signal import DriveOut, Signal, SignalIn, SignalOut, phasor
from instrumentkit.sim._wiring import DutSpec, WiredSource, WireSpec

if __name__ not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append(__name__)

__all__ = [
    "Clock",
    "Device",
    "DeviceSpec",
    "DriveOut",
    "DutSpec",
    "Fault",
    "FaultKind",
    "Lab",
    "LabServer",
    "LabSpec",
    "ManualClock",
    "Packet",
    "Reply",
    "ScpiDevice",
    "ScpiError",
    "Setting",
    "Signal",
    "SignalIn",
    "SignalOut",
    "SystemClock",
    "WireSpec",
    "WiredSource",
    "attach",
    "binary_block",
    "block_payload",
    "command",
    "create",
    "default_lab_path",
    "detach",
    "load_lab",
    "models",
    "numeric_parameter",
    "phasor",
    "register_model",
    "serve",
]
