"""instrumentkit: control lab instruments over VISA and serial, stream their data into HDF5.

import instrumentkit as ik
with ik.open("TCPIP::192.168.1.20::INSTR") as dmm:
    print(dmm.idn, dmm.voltage)
"""

from instrumentkit._version import __version__
from instrumentkit.connect import ConnectionOptions, open_transport
from instrumentkit.data import Reading, Spectrum, Waveform
from instrumentkit.errors import (
    ConfigError,
    ConnectionFailed,
    DriverNotFound,
    InstrumentError,
    InstrumentReportedError,
    ProtocolError,
    Timeout,
    ValidationError,
)
from instrumentkit.instrument import Channel, ChannelGroup, Instrument
from instrumentkit.interfaces import Oscilloscope, Sensor, Spectrometer
from instrumentkit.parameters import ON_OFF, Measurement, Setting
from instrumentkit.registry import identify, open, registered_drivers
from instrumentkit.scpi import Identity, SCPIInstrument
from instrumentkit.session import Session
from instrumentkit.validators import OneOf, Range

__all__ = [
    "ON_OFF",
    "Channel",
    "ChannelGroup",
    "ConfigError",
    "ConnectionFailed",
    "ConnectionOptions",
    "DriverNotFound",
    "Identity",
    "Instrument",
    "InstrumentError",
    "InstrumentReportedError",
    "Measurement",
    "OneOf",
    "Oscilloscope",
    "ProtocolError",
    "Range",
    "Reading",
    "SCPIInstrument",
    "Sensor",
    "Session",
    "Setting",
    "Spectrometer",
    "Spectrum",
    "Timeout",
    "ValidationError",
    "Waveform",
    "__version__",
    "identify",
    "open",
    "open_transport",
    "registered_drivers",
]
