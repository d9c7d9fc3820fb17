"""Per-query cost of the driver stack vs raw pyvisa, and block reads vs np.frombuffer.

    python benchmarks/bench_query.py [--queries 5000] [--rounds 7]

1. A driver parameter read (`dmm.nplc`: format, lock, write, read, parse) against raw
   pyvisa `float(resource.query(...))` on the same pyvisa-sim device, same process,
   rounds interleaved so drift hits both alike. Ratio target: <= 1.10.
2. `Session.query_block` of a 10 MB int16 IEEE block from an in-memory transport
   against reading the same bytes and calling `np.frombuffer` on them. Target: within 5%.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from instrumentkit import Session
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.simfiles import sim_backend
from instrumentkit.transport import TransportBase
from instrumentkit.visa_transport import resource_manager


class MemoryTransport(TransportBase):
    """Replays one reply from memory for every write: no I/O, only the stack's cost."""

    def __init__(self, reply: bytes) -> None:
        self.resource = "memory"
        self.reply = reply
        self.position = len(reply)

    def write(self, data: bytes) -> None:
        self.position = 0

    def read_until(self, terminator: bytes) -> bytes:
        end = self.reply.index(terminator, self.position)
        message = self.reply[self.position : end]
        self.position = end + len(terminator)
        return message

    def read_into(self, buffer: memoryview) -> None:
        end = self.position + len(buffer)
        buffer[:] = memoryview(self.reply)[self.position : end]
        self.position = end


def per_call_us(function, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - start) / count * 1e6


def bench_parameter_read(queries: int, rounds: int) -> tuple[float, float]:
    backend = sim_backend(Keysight34461A)
    raw = resource_manager(backend).open_resource(
        Keysight34461A.sim_resource, read_termination="\n", write_termination="\n"
    )
    dmm = Keysight34461A.open_sim(fresh=False)
    raw_times, driver_times = [], []
    for _ in range(rounds):
        raw_times.append(per_call_us(lambda: float(raw.query("VOLT:DC:NPLC?")), queries))
        driver_times.append(per_call_us(lambda: dmm.nplc, queries))
    raw.close()
    dmm.close()
    return statistics.median(raw_times), statistics.median(driver_times)


def bench_block(size_bytes: int, rounds: int) -> tuple[float, float]:
    payload = np.arange(size_bytes // 2, dtype="<i2").tobytes()
    length = str(len(payload)).encode()
    reply = b"#" + str(len(length)).encode() + length + payload + b"\n"
    header = 2 + len(length)

    raw_transport = MemoryTransport(reply)

    def raw_read() -> np.ndarray:
        raw_transport.write(b"CURV?\n")
        data = raw_transport.read_exact(len(reply))
        return np.frombuffer(data[header : header + len(payload)], dtype="<i2")

    session = Session(MemoryTransport(reply), name="memory")
    assert np.array_equal(raw_read(), session.query_block("CURV?", dtype=np.int16))
    raw_times, stack_times = [], []
    for _ in range(rounds):
        raw_times.append(per_call_us(raw_read, 20))
        stack_times.append(per_call_us(lambda: session.query_block("CURV?", dtype=np.int16), 20))
    return statistics.median(raw_times), statistics.median(stack_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    raw_us, driver_us = bench_parameter_read(args.queries, args.rounds)
    block_raw_us, block_us = bench_block(10_000_000, args.rounds)
    print(f"{'work':<44}{'raw':>12}{'instrumentkit':>16}{'ratio':>8}")
    print(
        f"{'parameter read, pyvisa-sim (us/query)':<44}{raw_us:>12.1f}{driver_us:>16.1f}"
        f"{driver_us / raw_us:>8.3f}"
    )
    print(
        f"{'10 MB int16 block, in memory (ms/block)':<44}{block_raw_us / 1e3:>12.2f}"
        f"{block_us / 1e3:>16.2f}{block_us / block_raw_us:>8.3f}"
    )


if __name__ == "__main__":
    main()
