"""The testing kit for driver authors: exact-protocol tests, pyvisa-sim fixtures, conformance.

    from instrumentkit.testing import expected_protocol, check_driver

The pytest plugin (installed with instrumentkit) adds the `sim_instrument` fixture.
"""

from instrumentkit.testing._conformance import ConformanceFailure, check_driver
from instrumentkit.testing._protocol import ProtocolMismatch, ProtocolTransport, expected_protocol

__all__ = [
    "ConformanceFailure",
    "ProtocolMismatch",
    "ProtocolTransport",
    "check_driver",
    "expected_protocol",
]
