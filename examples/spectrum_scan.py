"""Take a series of spectra and save them to HDF5.

Runs on the simulated lab unless you give a resource:

    python examples/spectrum_scan.py --count 20                      # simulated USB4000
    python examples/spectrum_scan.py --instrument aq6370 --count 5   # simulated OSA
    python examples/spectrum_scan.py --resource /dev/ttyUSB0     # 9600 baud, as at power-up
    python examples/spectrum_scan.py --instrument aq6370 \\
        --resource TCPIP::192.168.1.30::10001::SOCKET --user anonymous

With `--dark` a dark reference is taken first and every spectrum is dark-corrected:
an Ocean spectrometer switches its lamp-enable line off for it (wire your lamp there);
for the OSA, turn the source off when asked (the simulated one does it by itself).
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from instrumentkit.drivers.oceaninsight import (
    OceanInsightHR4000,
    OceanInsightUSB2000Plus,
    OceanInsightUSB4000,
)
from instrumentkit.drivers.yokogawa import YokogawaAQ6370D

INSTRUMENTS: dict[str, tuple[type[Any], str, str]] = {
    # name: (driver, simulated model, transport in the simulated lab)
    "usb4000": (OceanInsightUSB4000, "oceaninsight-usb4000", "serial"),
    "usb2000plus": (OceanInsightUSB2000Plus, "oceaninsight-usb2000plus", "serial"),
    "hr4000": (OceanInsightHR4000, "oceaninsight-hr4000", "serial"),
    "aq6370": (YokogawaAQ6370D, "yokogawa-aq6370d", "tcp"),
}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instrument", choices=sorted(INSTRUMENTS), default="usb4000")
    parser.add_argument("--resource", help="real instrument address (default: simulated lab)")
    parser.add_argument(
        "--baudrate", type=int, help="serial baud rate, if the instrument was set to another"
    )
    parser.add_argument("--user", help="AQ6370 LAN login user (e.g. anonymous)")
    parser.add_argument("--password", default="")
    parser.add_argument("--count", type=int, default=10, help="spectra to take")
    parser.add_argument("--integration-ms", type=int, default=100, help="Ocean only")
    parser.add_argument("--averages", type=int, default=1)
    parser.add_argument("--dark", action="store_true", help="dark-correct every spectrum")
    parser.add_argument("--output", type=Path, default=Path("spectra.h5"))
    return parser.parse_args()


def open_instrument(args: argparse.Namespace, stack: ExitStack) -> tuple[Any, Any]:
    """The driver, and the simulated device behind it (None on real hardware)."""
    driver, model, transport = INSTRUMENTS[args.instrument]
    options: dict[str, Any] = {}
    if args.baudrate:
        options["baudrate"] = args.baudrate
    if driver is YokogawaAQ6370D and args.user:
        options.update(user=args.user, password=args.password)
    if args.resource:
        return stack.enter_context(driver.open(args.resource, **options)), None
    from instrumentkit.sim import DeviceSpec, Lab, LabSpec

    spec = LabSpec(
        devices=[DeviceSpec(name="spectrometer", model=model, transport=transport, seed=1)]
    )
    lab = stack.enter_context(Lab(spec))
    instrument = stack.enter_context(driver.open(lab.resource("spectrometer"), **options))
    return instrument, lab.device("spectrometer")


def take_dark(instrument: Any, simulated: Any) -> None:
    if isinstance(instrument, YokogawaAQ6370D):
        if simulated is not None:
            simulated.source_on = False
        else:
            input("Turn the source off, then press Enter: ")
        instrument.capture_dark()
        if simulated is not None:
            simulated.source_on = True
        else:
            input("Turn the source on, then press Enter: ")
    else:
        instrument.set_lamp(False)
        instrument.capture_dark()
        instrument.set_lamp(True)


def save(path: Path, instrument: Any, batch: Any, elapsed: float) -> None:
    with h5py.File(path, "w") as f:
        entry = f.create_group("entry")
        entry.attrs["program_name"] = "examples/spectrum_scan.py"
        entry.attrs["elapsed_s"] = elapsed
        info = entry.create_group("instrument/spectrometer")
        info.attrs["resource"] = instrument.name
        info.attrs["driver"] = instrument.driver
        info.attrs["settings"] = json.dumps(instrument.snapshot())
        data = entry.create_group("data")
        spectra = data.create_dataset("intensities", data=batch.intensities, chunks=True)
        spectra.attrs["units"] = batch.units
        spectra.attrs["dark_corrected"] = batch.dark_corrected
        axis = data.create_dataset("wavelengths", data=batch.wavelengths)
        axis.attrs["units"] = batch.wavelength_units
        stamps = data.create_dataset("timestamps_ns", data=batch.meta["timestamps_ns"])
        stamps.attrs["units"] = "ns"
        data.create_dataset("saturated", data=batch.meta["saturated"])
        dark = instrument.dark_reference
        if dark is not None:
            data.create_dataset("dark", data=dark.intensities).attrs["units"] = dark.units


def main() -> None:
    args = arguments()
    with ExitStack() as stack:
        instrument, simulated = open_instrument(args, stack)
        if isinstance(instrument, YokogawaAQ6370D):
            instrument.averages = args.averages
        else:
            instrument.integration_time = args.integration_ms
            instrument.averages = args.averages
        if args.dark:
            take_dark(instrument, simulated)
        started = time.perf_counter()
        batch = instrument.acquire_many(args.count, dark_corrected=args.dark)
        elapsed = time.perf_counter() - started
        save(args.output, instrument, batch, elapsed)
    peak = np.unravel_index(np.argmax(batch.intensities), batch.intensities.shape)
    print(
        f"{args.count} spectra of {batch.intensities.shape[1]} points in {elapsed:.2f} s "
        f"-> {args.output}; strongest: {batch.intensities[peak]:.1f} {batch.units} at "
        f"{batch.wavelengths[peak[1]]:.2f} nm; "
        f"saturated spectra: {int(batch.meta['saturated'].sum())}"
    )


if __name__ == "__main__":
    main()
