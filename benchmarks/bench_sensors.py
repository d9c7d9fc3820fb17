"""Sensor drivers against hand-written raw code on the same simulated devices, same run.

    python benchmarks/bench_sensors.py [--rounds 5]

1. Keysight 34461A buffered read of 10,000 readings over the lab's TCP server:
   `dmm.read_many(10_000)` against a raw socket sending the same commands and parsing the
   `R?` block with `np.array(text.split(","), float)`.
2. A streaming sensor board over `iksim://`: `LineSensor.read_many(5000)` (regex, NumPy
   conversion, Reading) against raw pyserial `readline()` + `re.search` + `float`.
3. Pfeiffer TPG 362 over `iksim://`: `gauge.read_many(2000)` (PRX, ACK, ENQ per reading,
   statuses to NaN, one unit query) against raw pyserial doing the same handshakes.
Devices run on manual clocks, so the figures are the software's cost, not the instruments'.
Rounds are interleaved so machine drift hits both sides alike; medians are reported.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import time
from collections.abc import Callable

import numpy as np
import serial

from instrumentkit.drivers.generic import LineSensor
from instrumentkit.drivers.generic.line_sensor import EXAMPLE_CONFIG
from instrumentkit.drivers.generic.line_sensor_sim import LineBoardModel
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.drivers.keysight.dmm344xx_sim import Keysight34461AModel
from instrumentkit.drivers.pfeiffer import PfeifferTPG362
from instrumentkit.drivers.pfeiffer.tpg36x_sim import TPG362Model
from instrumentkit.sim import ManualClock, attach, detach, serve

READINGS = 10_000
LINES = 5_000
GAUGE_READS = 2_000


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


class RawSocket:
    """The least code that reads the DMM's memory: send, receive, split, parse."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            self.buffer += self.sock.recv(1 << 16)
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def query(self, command: bytes) -> bytes:
        self.sock.sendall(command + b"\n")
        return self.line()

    def read_many(self, n: int) -> np.ndarray:
        # The same exchanges the driver has, one message each.
        self.query(b"FUNC?")
        self.query(b"VOLT:DC:NPLC?")
        self.sock.sendall(f"SAMP:COUN {n}\n".encode())
        self.sock.sendall(b"INIT\n")
        self.query(b"*OPC?")
        block = self.query(b"R?")
        digits = int(block[1:2])
        values = np.array(block[2 + digits :].split(b","), dtype=np.float64)
        self.sock.sendall(b"SAMP:COUN 1\n")
        return values


def bench_dmm(rounds: int) -> tuple[float, float]:
    with serve(
        {
            "a": Keysight34461AModel(clock=ManualClock()),
            "b": Keysight34461AModel(clock=ManualClock()),
        }
    ) as lab:
        dmm = Keysight34461A.open(lab.resource("a"))
        raw = RawSocket("127.0.0.1", lab.port("b"))
        assert dmm.read_many(READINGS).values.shape == (READINGS, 1)
        assert raw.read_many(READINGS).shape == (READINGS,)
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(timed(lambda: dmm.read_many(READINGS)))
            theirs.append(timed(lambda: raw.read_many(READINGS)))
        dmm.close()
        raw.sock.close()
    return statistics.median(ours), statistics.median(theirs)


def bench_board(rounds: int) -> tuple[float, float]:
    attach("bench-board-a", LineBoardModel(clock=ManualClock(), seed=1))
    attach("bench-board-b", LineBoardModel(clock=ManualClock(), seed=1))
    board = LineSensor.open("iksim://bench-board-a", config=EXAMPLE_CONFIG)
    port = serial.serial_for_url("iksim://bench-board-b", baudrate=115200, timeout=1)
    pattern = re.compile(rb"T=(?P<temperature>\S+)\s+H=(?P<humidity>\S+)")

    def raw_lines() -> np.ndarray:
        rows = []
        while len(rows) < LINES:
            match = pattern.search(port.readline())
            if match:
                rows.append((float(match["temperature"]), float(match["humidity"])))
        return np.array(rows)

    ours, theirs = [], []
    try:
        for _ in range(rounds):
            ours.append(timed(lambda: board.read_many(LINES)))
            theirs.append(timed(raw_lines))
    finally:
        board.close()
        port.close()
        detach("bench-board-a")
        detach("bench-board-b")
    return statistics.median(ours), statistics.median(theirs)


def bench_gauge(rounds: int) -> tuple[float, float]:
    attach("bench-gauge-a", TPG362Model(clock=ManualClock(), seed=1))
    attach("bench-gauge-b", TPG362Model(clock=ManualClock(), seed=1))
    gauge = PfeifferTPG362.open("iksim://bench-gauge-a")
    port = serial.serial_for_url("iksim://bench-gauge-b", baudrate=9600, timeout=1)

    def raw_reads() -> None:
        rows = []
        for _ in range(GAUGE_READS):
            port.write(b"PRX\r\n")
            if port.readline() != b"\x06\r\n":
                raise RuntimeError("no ACK")
            port.write(b"\x05")
            rows.append(port.readline().split(b","))
        np.array(rows, dtype=np.float64)

    def driver_reads() -> None:
        gauge.read_many(GAUGE_READS)

    ours, theirs = [], []
    try:
        for _ in range(rounds):
            ours.append(timed(driver_reads))
            theirs.append(timed(raw_reads))
    finally:
        gauge.close()
        port.close()
        detach("bench-gauge-a")
        detach("bench-gauge-b")
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    rows = [
        ("DMM read_many(10,000) over TCP", READINGS, "readings/s", *bench_dmm(rounds)),
        ("board read_many(5,000) over iksim", LINES, "lines/s", *bench_board(rounds)),
        ("gauge read_many(2,000) over iksim", GAUGE_READS, "reads/s", *bench_gauge(rounds)),
    ]
    print(f"{'work':38s} {'driver':>14s} {'raw':>14s} {'ratio':>6s}")
    for label, count, unit, ours, theirs in rows:
        print(
            f"{label:38s} {count / ours:>10,.0f} {unit[:3]} {count / theirs:>10,.0f} {unit[:3]}"
            f" {(count / ours) / (count / theirs):6.2f}"
        )
    print("ratio = driver rate / raw rate (1.00: no cost over hand-written code)")


if __name__ == "__main__":
    main()
