"""How tests/data/run-0.1.0.h5 was made: a run file in the layout instrumentkit 0.1.0 wrote.

Run once against a checkout of 0.1.0 (commit 24ba5d4); the file is kept so that the reader
is tested against what 0.1.0 really wrote (HDF5 2.0, libver="latest", streams under the
NXcollection /entry/data):

    python tests/data/make_run_0_1_0.py tests/data/run-0.1.0.h5

Every value is a simple formula of its row, so tests can check what they read back.
"""

from __future__ import annotations

import sys

import numpy as np

from instrumentkit.acquisition import RunWriter
from instrumentkit.data import Reading

ROWS = 6
POINTS = 16


def main(path: str) -> None:
    with RunWriter(path, overwrite=True, compression="gzip", config_text="stop: {duration: 1}\n",
                   metadata={"sample": "Si-7"}) as run:  # fmt: skip
        run.add_instrument("dmm", idn="KEYSIGHT,34461A,MY1,A.02",
                           driver="keysight.Keysight34461A", settings={"nplc": 10.0},
                           resource="TCPIP::127.0.0.1::5025::SOCKET",
                           settings_capacity=256)  # fmt: skip
        dmm = run.add_readings("dmm", ["reading", "aux"], ["V", "A"], status=True,
                               monotonic=True, instrument="dmm")  # fmt: skip
        scope = run.add_waveforms("scope_ch1", POINTS, raw_dtype=np.int16, instrument="dmm")
        spectra = run.add_spectra("spectrometer", np.linspace(400.0, 700.0, POINTS))
        peaks = run.add_arrays("peaks", (3,), np.float32, units="nm")
        run.start()
        index = np.arange(ROWS)
        values = np.column_stack([index * 0.5, -index * 1.0])
        status = np.zeros((ROWS, 2), np.int16)
        status[2, 1] = 1
        dmm.append(Reading(values, index * 1000, ("reading", "aux"), ("V", "A"), status),
                   monotonic=index * 0.1)  # fmt: skip
        ramp = np.arange(POINTS)
        scope.append_block(index[:, None] + ramp * 0.01, timestamps_ns=index * 10, x0=-1e-3,
                           dx=1e-6, raw=index[:, None] + ramp, gain=0.01, bias=0.0)  # fmt: skip
        spectra.append_block(index[:, None] * 100.0 + ramp, timestamps_ns=index * 20,
                             integration_time=0.02, saturated=index == 3)  # fmt: skip
        peaks.append_block(np.tile(index[:, None] + 500.0, 3), timestamps_ns=index * 30)
        run.close("aborted", "stopped by the test", settings_end={"dmm": {"nplc": 1.0}})


if __name__ == "__main__":
    main(sys.argv[1])
