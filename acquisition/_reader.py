"""open_run: read a run file, finished, aborted, crashed or still being written.

    from instrumentkit.acquisition import open_run

    with open_run("run.h5") as run:
        print(run.status, run.start_time, run.streams)
        dmm = run["dmm"]                 # StreamData: NumPy arrays with units
        print(dmm.time[:3], dmm.data.mean(), dmm.units[dmm.signal])
        scope = run.to_xarray("scope")   # xarray.Dataset with time/sample coordinates

The file is opened with SWMR read access, which is what opens a file whose writer was
killed and what follows a file being written: every access re-reads status and rows.
`lazy=True` hands back h5py datasets instead of arrays, `lazy="dask"` Dask arrays, for
runs larger than memory.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import h5py
import numpy as np
from numpy.typing import NDArray

from instrumentkit.errors import ValidationError

from ._layout import (
    ENTRY,
    INSTRUMENT_PREFIX,
    LEGACY_DATA,
    LEGACY_INSTRUMENTS,
    MONOTONIC,
    TIME,
    flag_table,
)

Lazy = bool | Literal["dask"]


@dataclass(frozen=True)
class InstrumentRecord:
    """An instrument as the run recorded it; `settings_end` is None until the run ends."""

    name: str
    idn: str
    driver: str
    resource: str
    settings_start: dict[str, Any]
    settings_end: dict[str, Any] | None


@dataclass(frozen=True)
class StreamData:
    """One stream: its row-aligned arrays (`fields`), fixed axes, units and long names.

    Arrays are NumPy arrays, or h5py datasets / Dask arrays when the run was opened lazily.
    Every field has one row per sample or record; `time` is wall-clock ns since the epoch.
    """

    name: str
    kind: str
    signal: str
    signals: tuple[str, ...]
    fields: Mapping[str, Any]
    axes: Mapping[str, Any]
    units: Mapping[str, str]
    long_names: Mapping[str, str]
    attrs: Mapping[str, Any]
    dims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """For a sweep: each field's dimensions (the sweep's axes, then a trace's own)."""
    flags: Mapping[str, dict[int, str]] = field(default_factory=dict)
    """{code: meaning} of the datasets that carry CF flags (`status` of readings)."""

    @property
    def status_meanings(self) -> dict[int, str]:
        """What each status code of a readings stream means ({} without status codes)."""
        return dict(self.flags.get("status", {}))

    @property
    def data(self) -> Any:
        """The main signal (first channel, `y`, `intensities` or `data`)."""
        return self.fields[self.signal]

    @property
    def time(self) -> Any:
        """Wall-clock timestamps, int64 ns since 1970-01-01 UTC."""
        return self.fields[TIME]

    @property
    def datetime(self) -> NDArray[np.datetime64]:
        """The timestamps as NumPy datetime64[ns] (UTC)."""
        return np.asarray(self.time[:]).astype("datetime64[ns]")

    @property
    def monotonic(self) -> Any | None:
        """Monotonic-clock stamps in s, when the stream recorded them."""
        return self.fields.get(MONOTONIC)

    def __getitem__(self, name: str) -> Any:
        return self.fields[name] if name in self.fields else self.axes[name]

    def __len__(self) -> int:
        return min(int(field.shape[0]) for field in self.fields.values())

    @property
    def points_taken(self) -> int:
        """For a sweep: how many points of its grid were taken (status not -1)."""
        if self.kind != "sweep":
            raise TypeError(f"stream {self.name!r} holds {self.kind}, not a sweep")
        return int((np.asarray(self.fields["status"][()]) >= 0).sum())

    def sample_times(self) -> NDArray[np.float64]:
        """For waveforms: the time of every sample, `x0 + index * dx`, shape (records, points)."""
        if self.kind != "waveforms":
            raise TypeError(f"stream {self.name!r} holds {self.kind}, not waveforms")
        x0 = np.asarray(self.fields["x0"][:])[:, np.newaxis]
        dx = np.asarray(self.fields["dx"][:])[:, np.newaxis]
        return x0 + dx * np.asarray(self.axes["sample"][:])


class RunFile:
    """An open run file. Use as a context manager, or call `close()`."""

    def __init__(self, path: str | os.PathLike[str], *, lazy: Lazy = False) -> None:
        self.path = Path(path)
        self.lazy = lazy
        # One handle per dataset for the file's life: HDF5 (1.14 and 2.0) reads wrong data
        # through every handle of a dataset once one of two open handles is refreshed.
        self._datasets: dict[str, h5py.Dataset] = {}
        if lazy == "dask":
            _require("dask.array", "lazy='dask'", "xarray")
        _check_is_hdf5(self.path)
        with contextlib.suppress(ImportError):  # registers Blosc: blosc runs read back
            import hdf5plugin  # noqa: F401
        try:
            self._file = h5py.File(self.path, "r", swmr=True)
            self._swmr = True
        except OSError:
            # Not a SWMR-capable (latest format) file: open it the ordinary way.
            self._file = h5py.File(self.path, "r")
            self._swmr = False
        if ENTRY not in self._file:
            self._file.close()
            raise ValueError(f"{self.path} is not an instrumentkit run file (no /{ENTRY})")
        self._entry = self._file[ENTRY]

    # -- run-level fields -----------------------------------------------------------------
    def _text(self, name: str, group: h5py.Group | None = None) -> str:
        where = self._entry if group is None else group
        if name not in where:
            return ""
        return str(self._refreshed(where, name).asstr()[()])

    def _refreshed(self, group: h5py.Group, name: str) -> h5py.Dataset:
        """The file's one handle of `group[name]`, showing the rows flushed so far."""
        path = f"{group.name}/{name}"
        dataset = self._datasets.get(path)
        if dataset is None:
            dataset = self._datasets[path] = group[name]
        if self._swmr:
            dataset.refresh()
        return dataset

    @property
    def status(self) -> str:
        """'running' (being written, or its writer died), 'completed' or 'aborted'."""
        return self._text("status")

    @property
    def reason(self) -> str:
        """Why the run was aborted ('' otherwise)."""
        return self._text("reason")

    @property
    def start_time(self) -> datetime | None:
        return _time(self._text("start_time"))

    @property
    def end_time(self) -> datetime | None:
        """When the run ended; None while running or after a crash."""
        return _time(self._text("end_time"))

    @property
    def entry_identifier(self) -> str:
        """The run's UUID."""
        return self._text("entry_identifier")

    @property
    def program_version(self) -> str:
        """The instrumentkit version that wrote the file."""
        program = self._entry.get("program_name")
        return "" if program is None else str(program.attrs.get("version", ""))

    @property
    def config_text(self) -> str:
        """The run configuration as given to the writer ('' if none)."""
        return self._text("run_config")

    @property
    def metadata(self) -> dict[str, Any]:
        text = self._text("metadata")
        return json.loads(text) if text else {}

    @property
    def instruments(self) -> dict[str, InstrumentRecord]:
        """Instruments by name, with their start (and end) settings snapshots."""
        found = {}
        for key, group in self._groups("NXinstrument", LEGACY_INSTRUMENTS).items():
            end = self._text("settings_end", group)
            found[key] = InstrumentRecord(
                name=self._text("name", group) or key,
                idn=self._text("idn", group),
                driver=self._text("driver", group),
                resource=self._text("resource", group),
                settings_start=json.loads(self._text("settings_start", group) or "{}"),
                settings_end=json.loads(end) if end else None,
            )
        return found

    @property
    def streams(self) -> tuple[str, ...]:
        """Names of the streams (the NXdata groups of /entry)."""
        return tuple(self._groups("NXdata", LEGACY_DATA))

    def _groups(self, nx_class: str, legacy: str) -> dict[str, h5py.Group]:
        """The entry's groups of one NeXus class, by stream or instrument name.

        Files of instrumentkit 0.1.0 kept them in an NXcollection (/entry/data,
        /entry/instrument); an instrument's group is named after it without its prefix.
        """
        collection = self._entry.get(legacy)
        if collection is not None and _nx_class(collection) == "NXcollection":
            return dict(collection.items())
        found = {}
        for key, group in self._entry.items():
            if isinstance(group, h5py.Group) and _nx_class(group) == nx_class:
                instrument = nx_class == "NXinstrument"
                found[key.removeprefix(INSTRUMENT_PREFIX) if instrument else key] = group
        return found

    def __contains__(self, stream: object) -> bool:
        return stream in self.streams

    def __iter__(self) -> Iterator[str]:
        return iter(self.streams)

    # -- streams --------------------------------------------------------------------------
    def __getitem__(self, stream: str) -> StreamData:
        data = self._groups("NXdata", LEGACY_DATA)
        if stream not in data:  # the name as given, before '/' became '_'
            named = [key for key, g in data.items() if g.attrs.get("long_name") == stream]
            if not named:
                raise KeyError(f"{self.path}: no stream {stream!r}; streams: {list(self.streams)}")
            stream = named[0]
        group = data[stream]
        attrs = dict(group.attrs)
        signal = str(attrs.get("signal", ""))
        signals = (signal, *(str(s) for s in attrs.get("auxiliary_signals", ())))
        fields: dict[str, Any] = {}
        axes: dict[str, Any] = {}
        grid = attrs.get("kind") == "sweep"  # every dataset has its final shape (a grid)
        datasets = {name: self._refreshed(group, name) for name in group}
        for name, dataset in datasets.items():
            is_row = not dataset.is_scale if grid else dataset.maxshape[:1] == (None,)
            (fields if is_row else axes)[name] = dataset
        rows = min((int(ds.shape[0]) for ds in fields.values()), default=0)
        dims = {}
        if grid:
            rows = None
            dims = {name: tuple(str(d.label) for d in ds.dims) for name, ds in fields.items()}
        return StreamData(
            name=stream,
            kind=str(attrs.get("kind", "")),
            signal=signal,
            signals=signals,
            fields={name: self._load(ds, rows) for name, ds in fields.items()},
            axes={name: self._load(ds, None) for name, ds in axes.items()},
            units={name: str(ds.attrs.get("units", "")) for name, ds in datasets.items()},
            long_names={name: str(ds.attrs.get("long_name", "")) for name, ds in datasets.items()},
            attrs=attrs,
            dims=dims,
            flags={name: table for name, ds in datasets.items() if (table := flag_table(ds))},
        )

    def _load(self, dataset: h5py.Dataset, rows: int | None) -> Any:
        """An array (cut to the rows every field has, for a file being written) or a view."""
        if not self.lazy:
            return dataset[()] if rows is None else dataset[:rows]
        if self.lazy == "dask":
            import dask.array as da

            array = da.from_array(dataset, chunks=dataset.chunks or dataset.shape)
            return array if rows is None else array[:rows]
        return dataset

    def to_xarray(self, stream: str) -> Any:
        """The stream as an xarray.Dataset: time (datetime64) and axis coordinates, units."""
        _require("xarray", "to_xarray()", "xarray")
        from ._xarray import stream_to_xarray

        return stream_to_xarray(self[stream])

    # -- lifetime -------------------------------------------------------------------------
    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RunFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = self.status if self._file else "closed"
        return f"<RunFile {str(self.path)!r} {state}, streams {list(self.streams)}>"


def open_run(path: str | os.PathLike[str], *, lazy: Lazy = False) -> RunFile:
    """Open a run file for reading (see RunFile); works while it is being written."""
    return RunFile(path, lazy=lazy)


def _nx_class(group: h5py.Group) -> str:
    value = group.attrs.get("NX_class", "")
    return value.decode() if isinstance(value, bytes) else str(value)


def _time(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _require(module: str, feature: str, extra: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as error:
        package = module.split(".")[0]
        raise ImportError(
            f"{feature} needs the optional package {package}, which is not installed: "
            f"pip install 'instrumentkit[{extra}]'"
        ) from error


def _check_is_hdf5(path: Path) -> None:
    """Refuse a file that is not HDF5 in words, before HDF5 says 'file signature not found'."""
    if not path.is_file() or h5py.is_hdf5(path):
        return  # a missing file: h5py's FileNotFoundError says it well
    hint = "an instrumentkit run file is the HDF5 file (.h5) that a run writes"
    if path.suffix.lower() in (".yaml", ".yml"):
        hint = (
            f"it looks like a run configuration: record a run with `instrumentkit acquire "
            f"{path}`, then open the .h5 file it writes"
        )
    raise ValidationError(f"{path} is not an HDF5 file, so not a run file; {hint}")
