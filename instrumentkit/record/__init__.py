"""Record a session with an instrument once; replay it, serve it, or turn it into pyvisa-sim.

    dmm = ik.open("TCPIP::192.168.1.20::INSTR", record="dmm.rec.yaml")   # records
    dmm = ik.open("replay://dmm.rec.yaml")                              # replays

Recording and replay are transports, so they work for every driver, serial and binary
protocols included (docs/recording.md). `serve_recording`, `ReplayDevice` and `to_sim`
load the simulated lab and PyYAML's emitter only when asked for.
"""

from typing import Any

from instrumentkit.record._format import Exchange, Recording, load_recording
from instrumentkit.record._hook import ENVIRONMENT, start_recording
from instrumentkit.record._recorder import RecordingTransport
from instrumentkit.record._replay import ReplayTransport, open_replay
from instrumentkit.record._script import ReplayMismatch

_LAZY = {
    "ReplayDevice": "instrumentkit.record._device",
    "serve_recording": "instrumentkit.record._device",
    "to_sim": "instrumentkit.record._to_sim",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'instrumentkit.record' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)


__all__ = [
    "ENVIRONMENT",
    "Exchange",
    "Recording",
    "RecordingTransport",
    "ReplayDevice",
    "ReplayMismatch",
    "ReplayTransport",
    "load_recording",
    "open_replay",
    "serve_recording",
    "start_recording",
    "to_sim",
]
