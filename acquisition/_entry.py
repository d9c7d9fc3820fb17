"""The NeXus skeleton of a run file: /entry fields and /entry/instrument_<name> groups."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from instrumentkit._version import __version__

from . import _layout as layout

JSON = "application/json"


def declare_entry(
    file: h5py.File, identifier: str, config_text: str, metadata: Mapping[str, Any]
) -> h5py.Group:
    """Root attributes and /entry with its fields; end-of-run fields reserved empty."""
    file.attrs["default"] = layout.ENTRY
    file.attrs["creator"] = "instrumentkit"
    file.attrs["creator_version"] = __version__
    file.attrs["HDF5_Version"] = h5py.version.hdf5_version
    file.attrs["h5py_version"] = h5py.version.version
    file.attrs["file_name"] = file.filename.rsplit("/", 1)[-1]
    entry = file.create_group(layout.ENTRY)
    entry.attrs["NX_class"] = "NXentry"
    layout.write_text(entry, "entry_identifier", identifier)
    program = layout.write_text(entry, "program_name", "instrumentkit")
    program.attrs["version"] = __version__
    program.attrs["python_version"] = platform.python_version()
    program.attrs["numpy_version"] = np.__version__
    program.attrs["h5py_version"] = h5py.version.version
    program.attrs["hdf5_version"] = h5py.version.hdf5_version
    config = layout.write_text(entry, "run_config", config_text)
    config.attrs["long_name"] = "run configuration as given"
    layout.write_text(entry, "metadata", layout.to_json(dict(metadata))).attrs["type"] = JSON
    layout.reserve_text(entry, "start_time", layout.END_TIME_BYTES)
    layout.reserve_text(entry, "end_time", layout.END_TIME_BYTES)
    layout.reserve_text(entry, "status", layout.STATUS_BYTES, "created")
    layout.reserve_text(entry, "reason", layout.REASON_BYTES)
    return entry


def declare_instrument(
    group: h5py.Group,
    name: str,
    *,
    idn: str,
    driver: str,
    resource: str,
    settings: Mapping[str, Any],
    settings_capacity: int | None,
) -> h5py.Group:
    """Fill an instrument group; room for the end snapshot is reserved now."""
    group.attrs["NX_class"] = "NXinstrument"
    layout.write_text(group, "name", name)
    layout.write_text(group, "idn", idn)
    layout.write_text(group, "driver", driver)
    layout.write_text(group, "resource", resource)
    start = layout.to_json(dict(settings))
    layout.write_text(group, "settings_start", start).attrs["type"] = JSON
    capacity = settings_capacity or max(layout.SETTINGS_END_MIN_BYTES, 4 * len(start.encode()))
    layout.reserve_text(group, "settings_end", capacity).attrs["type"] = JSON
    return group


def write_settings_end(dataset: h5py.Dataset, settings: Mapping[str, Any]) -> str | None:
    """Write the end snapshot into its reserved room (an error object if it does not fit
    or is not a snapshot); returns what was wrong with a snapshot that was not one."""
    refused = None
    try:
        text = layout.to_json(dict(settings))
    except (TypeError, ValueError) as error:  # not a mapping of JSON-able values
        refused = f"not a snapshot (a mapping of settings to values): {error}"
        text = layout.to_json({"error": f"end snapshot {refused}"})
    capacity = dataset.dtype.itemsize
    if len(text.encode()) > capacity:
        text = layout.to_json(
            {
                "error": f"end snapshot of {len(text.encode())} bytes exceeds the {capacity} "
                "bytes reserved (settings_capacity=)"
            }
        )
    dataset[()] = layout.fit_utf8(text, capacity)
    return refused
