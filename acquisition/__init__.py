"""Acquisition pipelines: sources, stages, the HDF5 run writer and reader.

from instrumentkit.acquisition import RunWriter, open_run
from instrumentkit.acquisition import Run, Pipeline, Stop, SensorSource, run_pipeline
"""

from ._axis_arrays import AxisArrayStream
from ._bench import run_pipeline
from ._config import RunConfig, load_run_config
from ._pipeline import Pipeline, Progress, RunResult, Stop
from ._reader import InstrumentRecord, RunFile, StreamData, open_run
from ._readings import ReadingStream
from ._records import ArrayStream, SpectrumStream, WaveformStream
from ._run import Run
from ._runner import ErrorPolicy
from ._sources import (
    CallableSource,
    ScopeSource,
    SensorSource,
    Source,
    SpectrumSource,
)
from ._streams import Stream
from ._sweep import ComplianceStop, SweepSource
from ._sweep_grid import SweepAxis, SweepPoint
from ._sweep_script import sweep
from ._sweep_stream import SweepStream
from ._writer import RunWriter

__all__ = [
    "ArrayStream",
    "AxisArrayStream",
    "CallableSource",
    "ComplianceStop",
    "ErrorPolicy",
    "InstrumentRecord",
    "Pipeline",
    "Progress",
    "ReadingStream",
    "Run",
    "RunConfig",
    "RunFile",
    "RunResult",
    "RunWriter",
    "ScopeSource",
    "SensorSource",
    "Source",
    "SpectrumSource",
    "SpectrumStream",
    "Stop",
    "Stream",
    "StreamData",
    "SweepAxis",
    "SweepPoint",
    "SweepSource",
    "SweepStream",
    "WaveformStream",
    "load_run_config",
    "open_run",
    "run_pipeline",
    "sweep",
]
