"""Record a session with an instrument once; replay it, serve it, or turn it into pyvisa-sim.

    dmm = ik.open("TCPIP::192.168.1.20::INSTR", record="dmm.rec.yaml")   # records
    dmm = ik.open("replay://dmm.rec.yaml")                              # replays

Recording and replay are transports, so they work for every driver, serial and binary
protocols included (docs/recording.md).
"""

from instrumentkit.record._format import Exchange, Recording, load_recording
from instrumentkit.record._hook import ENVIRONMENT, start_recording
from instrumentkit.record._recorder import RecordingTransport
from instrumentkit.record._replay import ReplayTransport, open_replay
from instrumentkit.record._script import ReplayMismatch

__all__ = [
    "ENVIRONMENT",
    "Exchange",
    "Recording",
    "RecordingTransport",
    "ReplayMismatch",
    "ReplayTransport",
    "load_recording",
    "open_replay",
    "start_recording",
]
