"""Acquisition pipelines: sources, stages, the HDF5 run writer and reader.

from instrumentkit.acquisition import RunWriter, open_run
"""

from ._reader import InstrumentRecord, RunFile, StreamData, open_run
from ._readings import ReadingStream
from ._records import ArrayStream, SpectrumStream, WaveformStream
from ._streams import Stream
from ._writer import RunWriter

__all__ = [
    "ArrayStream",
    "InstrumentRecord",
    "ReadingStream",
    "RunFile",
    "RunWriter",
    "SpectrumStream",
    "Stream",
    "StreamData",
    "WaveformStream",
    "open_run",
]
