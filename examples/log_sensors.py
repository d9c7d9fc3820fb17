"""Log several sensors for a while and save every reading to an HDF5 file.

Runs on the simulated lab by default (a DMM and a power meter over TCP, a temperature
controller, a vacuum gauge and a sensor board over simulated serial ports):

    python examples/log_sensors.py --duration 30 --output sensors.h5

On real instruments, name the ones you have (the others are left out):

    python examples/log_sensors.py --dmm TCPIP::192.168.1.20::INSTR \\
        --temperature /dev/ttyUSB0 --gauge /dev/ttyUSB1 \\
        --board /dev/ttyACM0 --board-config thermo.yaml

The file holds one group per sensor with `timestamps_ns`, `values` and `status`
datasets (units and channel names as attributes) and the sensor's settings snapshot.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import instrumentkit as ik
from instrumentkit.data import Reading

FLUSH_EVERY = 1.0  # seconds between writes to the file


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to log")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between readings")
    parser.add_argument("--output", type=Path, default=Path("sensors.h5"))
    parser.add_argument("--dmm", help="VISA resource of a Keysight 34461A/65A or Keithley 2000")
    parser.add_argument("--temperature", help="port or resource of a Lake Shore 335/336")
    parser.add_argument("--gauge", help="serial port of a Pfeiffer TPG 36x")
    parser.add_argument("--power", help="VISA resource of a Thorlabs PM100D/PM100USB")
    parser.add_argument("--board", help="serial port of a line-printing sensor board")
    parser.add_argument("--board-config", type=Path, help="YAML description of --board")
    return parser.parse_args()


@contextlib.contextmanager
def simulated_sensors(stack: contextlib.ExitStack) -> Iterator[dict[str, Any]]:
    """Start the simulated lab in this process and open a driver on each device."""
    from instrumentkit.drivers.generic.line_sensor import EXAMPLE_CONFIG
    from instrumentkit.drivers.generic.line_sensor_config import load_config
    from instrumentkit.drivers.keysight.dmm344xx_sim import Keysight34461AModel
    from instrumentkit.drivers.thorlabs.pm100_sim import PM100DModel
    from instrumentkit.sim import serve

    lab = stack.enter_context(
        serve({"dmm": Keysight34461AModel(seed=1), "power": PM100DModel(seed=2, drift=0.01)})
    )
    dmm = stack.enter_context(ik.open(lab.resource("dmm")))
    dmm.nplc = 1  # 20 ms per reading keeps the loop brisk
    yield {
        "dmm": dmm,
        "power": stack.enter_context(ik.open(lab.resource("power"))),
        "temperature": stack.enter_context(
            ik.open("iksim://model/lakeshore-336?seed=3", driver="LakeShore336")
        ),
        "gauge": stack.enter_context(
            ik.open("iksim://model/pfeiffer-tpg362?seed=4", driver="PfeifferTPG362")
        ),
        "board": stack.enter_context(
            ik.open(
                "iksim://model/generic-line-sensor?seed=5",
                driver="LineSensor",
                # The board prints 10 lines/s; keep only the newest at each reading.
                config=load_config(EXAMPLE_CONFIG).model_copy(update={"fresh": True}),
            )
        ),
    }


def real_sensors(args: argparse.Namespace, stack: contextlib.ExitStack) -> dict[str, Any]:
    """Open the instruments named on the command line."""
    sensors: dict[str, Any] = {}
    if args.dmm:
        sensors["dmm"] = stack.enter_context(ik.open(args.dmm))
    if args.temperature:
        sensors["temperature"] = stack.enter_context(
            ik.open(args.temperature, driver="LakeShore336")
        )
    if args.gauge:
        sensors["gauge"] = stack.enter_context(ik.open(args.gauge, driver="PfeifferTPG36x"))
    if args.power:
        sensors["power"] = stack.enter_context(ik.open(args.power))
    if args.board:
        if args.board_config is None:
            raise SystemExit("--board needs --board-config (the board's YAML description)")
        sensors["board"] = stack.enter_context(
            ik.open(args.board, driver="LineSensor", config=args.board_config)
        )
    return sensors


class SensorLog:
    """One group per sensor: resizable datasets, appended a block at a time."""

    def __init__(self, path: Path, sensors: dict[str, Any]) -> None:
        self.file = h5py.File(path, "w")
        self.file.attrs["program"] = "examples/log_sensors.py"
        self.file.attrs["instrumentkit_version"] = ik.__version__
        self.file.attrs["start_time_ns"] = time.time_ns()
        self.pending: dict[str, list[Reading]] = {name: [] for name in sensors}
        for name, sensor in sensors.items():
            group = self.file.create_group(name)
            group.attrs["driver"] = sensor.driver
            group.attrs["settings"] = json.dumps(sensor.snapshot())

    def add(self, name: str, reading: Reading) -> None:
        self.pending[name].append(reading)

    def flush(self) -> None:
        for name, readings in self.pending.items():
            if readings:
                self._append(name, readings)
                readings.clear()
        self.file.flush()

    def _append(self, name: str, readings: list[Reading]) -> None:
        group = self.file[name]
        values = np.concatenate([r.values for r in readings])
        stamps = np.concatenate([r.timestamps_ns for r in readings])
        status = np.concatenate(
            [
                r.status if r.status is not None else np.zeros(r.values.shape, np.int16)
                for r in readings
            ]
        )
        if "values" not in group:
            width = values.shape[1]
            group.create_dataset("timestamps_ns", (0,), "i8", maxshape=(None,), chunks=(4096,))
            group.create_dataset(
                "values", (0, width), "f8", maxshape=(None, width), chunks=(4096, width)
            )
            group.create_dataset(
                "status", (0, width), "i2", maxshape=(None, width), chunks=(4096, width)
            )
            group["values"].attrs["units"] = list(readings[0].units)
            group["values"].attrs["channels"] = list(readings[0].channels)
            group["timestamps_ns"].attrs["units"] = "ns since the Unix epoch"
        start = group["values"].shape[0]
        for key, block in (("timestamps_ns", stamps), ("values", values), ("status", status)):
            dataset = group[key]
            dataset.resize(start + block.shape[0], axis=0)
            dataset[start:] = block

    def close(self) -> None:
        self.flush()
        self.file.attrs["end_time_ns"] = time.time_ns()
        self.file.close()


def log(sensors: dict[str, Any], args: argparse.Namespace) -> dict[str, int]:
    """Read every sensor each interval until the duration is over; return rows per sensor."""
    counts = dict.fromkeys(sensors, 0)
    sink = SensorLog(args.output, sensors)
    try:
        start = time.monotonic()
        next_flush = start + FLUSH_EVERY
        tick = 0
        while (now := time.monotonic()) - start < args.duration:
            for name, sensor in sensors.items():
                try:
                    reading = sensor.read()
                except ik.InstrumentError as error:  # log it and keep the others going
                    print(f"{name}: {error}")
                    continue
                sink.add(name, reading)
                counts[name] += len(reading)
            if now >= next_flush:
                sink.flush()
                next_flush += FLUSH_EVERY
            tick += 1
            time.sleep(max(0.0, start + tick * args.interval - time.monotonic()))
    finally:
        sink.close()
    return counts


def main() -> None:
    args = parse_args()
    named = [args.dmm, args.temperature, args.gauge, args.power, args.board]
    with contextlib.ExitStack() as stack:
        if any(named):
            sensors = real_sensors(args, stack)
        else:
            sensors = stack.enter_context(simulated_sensors(stack))
        counts = log(sensors, args)
    for name, count in counts.items():
        print(f"{name:12s} {count:6d} readings")
    print(f"saved to {args.output}")


if __name__ == "__main__":
    main()
