"""Share instruments over the network with HiSLIP (IVI-6.1), the LAN protocol every VISA
opens as `TCPIP::host::hislip<...>::INSTR`.

Depends on transports and sessions only; `instrumentkit share` (the CLI) wires share files
and the simulated lab to it. See docs/sharing.md.
"""

from __future__ import annotations

from instrumentkit.share._instrument import InstrumentRules, SharedInstrument
from instrumentkit.share._limits import Limits
from instrumentkit.share._server import DEFAULT_PORT, ShareServer, parse_networks
from instrumentkit.share._usage import UsageRecord, summarize

__all__ = [
    "DEFAULT_PORT",
    "InstrumentRules",
    "Limits",
    "ShareServer",
    "SharedInstrument",
    "UsageRecord",
    "parse_networks",
    "summarize",
]
