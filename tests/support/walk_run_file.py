"""Read every dataset (in full) and every attribute of an HDF5 file; print a JSON summary.

Run as a script by whatever interpreter a test wants to prove the file against (an old
HDF5 through h5py 3.11, or the current one), so that a crash of that library is the
script's exit code, not the test process dying:

    python walk_run_file.py run.h5

With nexusformat importable, the NeXus tree is loaded and walked the same way, and the
summary names the group NeXus tools would plot (`plottable_data`) and its signal.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def walk_h5py(path: str) -> dict[str, Any]:
    import h5py

    counts = {"groups": 0, "datasets": 0, "attributes": 0, "values": 0}

    def read_attributes(obj: Any) -> None:
        for name in obj.attrs:
            obj.attrs[name]  # decoding every attribute is the point
            counts["attributes"] += 1

    def visit(name: str, obj: Any) -> None:
        read_attributes(obj)
        if isinstance(obj, h5py.Dataset):
            counts["datasets"] += 1
            counts["values"] += int(obj[()].size) if obj.shape else 1
        else:
            counts["groups"] += 1

    with h5py.File(path, "r") as f:
        read_attributes(f)
        f.visititems(visit)
    return {"hdf5": h5py.version.hdf5_version, "h5py": h5py.version.version, **counts}


def walk_nexus(path: str) -> dict[str, Any] | None:
    import numpy as np

    try:
        from nexusformat.nexus import NXfield, nxload
    except ImportError:
        return None
    root = nxload(path, "r")
    fields = values = 0
    for node in root.walk():
        for value in node.attrs.values():
            getattr(value, "nxvalue", value)
        if isinstance(node, NXfield):
            fields += 1
            values += int(np.size(node.nxvalue))  # reads the field
    plottable = root.plottable_data
    summary: dict[str, Any] = {
        "fields": fields,
        "values": values,
        "tree_lines": len(root.tree.splitlines()),
    }
    if plottable is not None:
        signal = plottable.nxsignal
        summary["plottable"] = plottable.nxpath
        summary["signal"] = None if signal is None else signal.nxname
        summary["axes"] = [axis.nxname for axis in plottable.nxaxes or []]
    root.nxfile.close()
    return summary


if __name__ == "__main__":
    print(json.dumps({"h5py": walk_h5py(sys.argv[1]), "nexus": walk_nexus(sys.argv[1])}))
