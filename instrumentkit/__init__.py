"""instrumentkit: control lab instruments over VISA and serial, stream their data into HDF5.

import instrumentkit as ik
with ik.open("TCPIP::192.168.1.20::INSTR") as dmm:
    print(dmm.idn, dmm.voltage)
"""

# First: a signal while the imports below run (most of a second) exits with one line.
from instrumentkit import _startup  # noqa: F401  (guards the command line on import)
from instrumentkit._axis_array import Axis, AxisArray
from instrumentkit._source_tree import install_checkout_finder
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
from instrumentkit.interfaces import Oscilloscope, Sensor, Source, SourceOutput, Spectrometer
from instrumentkit.parameters import ON_OFF, Measurement, Setting, UnknownChoice
from instrumentkit.registry import identify, open, registered_drivers
from instrumentkit.scpi import Identity, SCPIInstrument
from instrumentkit.session import Session
from instrumentkit.sourcing import SafeLimits, SourceMixin, SourceOutputMixin
from instrumentkit.validators import OneOf, Range

# Run from a checkout, `drivers/` and `acquisition/` sit beside this package (decision 0005).
install_checkout_finder(__file__)

# The lab-script side of acquisition, reached lazily so `import instrumentkit` loads
# neither the acquisition layer nor h5py until a script asks for them (decision 0001).
_LAZY = {
    "Run": "instrumentkit.acquisition",
    "open_run": "instrumentkit.acquisition",
    "sweep": "instrumentkit.acquisition",
    "SweepAxis": "instrumentkit.acquisition",
    "adapt": "instrumentkit.adapters",  # PyMeasure/QCoDeS imported only for their objects
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'instrumentkit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)


__all__ = [
    "ON_OFF",
    "Axis",
    "AxisArray",
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
    "Run",
    "SCPIInstrument",
    "SafeLimits",
    "Sensor",
    "Session",
    "Setting",
    "Source",
    "SourceMixin",
    "SourceOutput",
    "SourceOutputMixin",
    "Spectrometer",
    "Spectrum",
    "SweepAxis",
    "Timeout",
    "UnknownChoice",
    "ValidationError",
    "Waveform",
    "__version__",
    "adapt",
    "identify",
    "open",
    "open_run",
    "open_transport",
    "registered_drivers",
    "sweep",
]
