"""Throughput of the simulated lab's TCP server, per read path, against a bare socket.

    python benchmarks/bench_simlab.py [--points 100000] [--repeats 30] [--rounds 7]

One device serves a pre-built IEEE 488.2 block of `--points` int16 values (random, so
terminator bytes occur inside it as in real data) on a loopback port. Each read path
fetches it `--repeats` times per round, rounds interleaved, medians reported:

- bare socket: send the query, `recv_into` a preallocated buffer, `np.frombuffer`
  (the baseline: what the server and the kernel can do);
- instrumentkit `Session.query_block` over the direct SocketTransport;
- instrumentkit `Session.query_block` over pyvisa-py (VisaTransport, `@py`);
- pyvisa-py `query_binary_values` with `read_termination="\\n"` (its default path);
- pyvisa-py with termination off: header, then an exact-count `read_bytes`.

Then a 10k-point ASCII trace: pyvisa-sim (a temporary YAML) against the same text served
by the lab's TCP server to pyvisa-py `query_ascii_values`.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyvisa

from instrumentkit.connect import open_transport
from instrumentkit.session import Session
from instrumentkit.sim import ScpiDevice, binary_block, command, serve


class BlockSource(ScpiDevice):
    """Answers pre-built replies, so the benchmark measures transport paths, not NumPy."""

    idn = "instrumentkit,BENCH,0,1"

    def __init__(self, values: np.ndarray, ascii_points: int) -> None:
        super().__init__()
        self.block = binary_block(values)
        self.text = ",".join(f"{v:.6e}" for v in np.linspace(-1.0, 1.0, ascii_points))

    @command(":WAVeform:DATA?")
    def data(self) -> bytes:
        return self.block

    @command(":WAVeform:ASCii?")
    def ascii(self) -> str:
        return self.text


def timed(read: Callable[[], object], repeats: int, check: Callable[[object], None]) -> float:
    check(read())  # prove the path returns the right data
    for _ in range(min(repeats, 5)):  # a fresh TCP connection needs a few blocks to open up
        read()
    start = time.perf_counter()
    for _ in range(repeats):
        read()
    return (time.perf_counter() - start) / repeats


def bare_socket_reader(port: int, size: int) -> tuple[Callable[[], np.ndarray], socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    digits = len(str(size))
    header = 2 + digits
    buffer = bytearray(header + size + 1)
    view = memoryview(buffer)

    def read() -> np.ndarray:
        sock.sendall(b":WAV:DATA?\n")
        position = 0
        while position < len(buffer):
            received = sock.recv_into(view[position:])
            if not received:
                raise ConnectionError("server closed")
            position += received
        return np.frombuffer(buffer, dtype="<i2", offset=header, count=size // 2)

    return read, sock


def pyvisa_exact_count(resource: pyvisa.resources.MessageBasedResource) -> np.ndarray:
    resource.write(":WAV:DATA?")
    resource.read_termination = None
    try:
        head = resource.read_bytes(2)
        length = int(resource.read_bytes(int(head[1:2])))
        payload = resource.read_bytes(length + 1, chunk_size=1 << 20)
    finally:
        resource.read_termination = "\n"
    return np.frombuffer(payload, dtype="<i2", count=length // 2)


def bench_blocks(points: int, repeats: int, rounds: int) -> list[tuple[str, float]]:
    rng = np.random.default_rng(0)
    values = rng.integers(-32768, 32767, points, dtype=np.int16)
    expected = values.astype("<i2")
    size = expected.nbytes

    def same(array: object) -> None:
        np.testing.assert_array_equal(np.asarray(array), expected)

    manager = pyvisa.ResourceManager("@py")
    results: dict[str, list[float]] = {}
    with serve({"scope": BlockSource(values, 10)}) as lab:
        resource_name = lab.resource("scope")
        port = lab.port("scope")
        for _ in range(rounds):
            # One client at a time per device: each path opens, runs, closes.
            read, sock = bare_socket_reader(port, size)
            results.setdefault("bare socket recv_into + frombuffer", []).append(
                timed(read, repeats, same)
            )
            sock.close()

            session = Session(open_transport(resource_name))
            results.setdefault("instrumentkit query_block, SocketTransport", []).append(
                timed(lambda s=session: s.query_block(":WAV:DATA?", dtype=np.int16), repeats, same)
            )
            session.close()

            session = Session(open_transport(resource_name, backend="@py"))
            results.setdefault("instrumentkit query_block, pyvisa-py", []).append(
                timed(lambda s=session: s.query_block(":WAV:DATA?", dtype=np.int16), repeats, same)
            )
            session.close()

            resource = manager.open_resource(
                resource_name, read_termination="\n", write_termination="\n", timeout=20_000
            )
            results.setdefault("pyvisa-py query_binary_values (termination on)", []).append(
                timed(
                    lambda r=resource: r.query_binary_values(
                        ":WAV:DATA?", datatype="h", container=np.array
                    ),
                    max(3, repeats // 10),
                    same,
                )
            )
            results.setdefault("pyvisa-py termination off, exact-count read_bytes", []).append(
                timed(lambda r=resource: pyvisa_exact_count(r), repeats, same)
            )
            resource.close()
    manager.close()
    return [(name, statistics.median(times)) for name, times in results.items()]


def bench_ascii(points: int, repeats: int) -> list[tuple[str, float]]:
    device = BlockSource(np.zeros(1, dtype=np.int16), points)
    expected = np.array(device.text.split(","), dtype=float)
    text = device.text.replace("'", "''")
    yaml_text = f"""
spec: "1.1"
devices:
  scope:
    eom:
      TCPIP SOCKET:
        q: "\\n"
        r: "\\n"
    dialogues:
      - q: ":WAV:ASC?"
        r: '{text}'
resources:
  TCPIP::127.0.0.1::5025::SOCKET:
    device: scope
"""

    def same(values: object) -> None:
        np.testing.assert_allclose(np.asarray(values, dtype=float), expected)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scope.yaml"
        path.write_text(yaml_text)
        sim_manager = pyvisa.ResourceManager(f"{path}@sim")
        sim = sim_manager.open_resource(
            "TCPIP::127.0.0.1::5025::SOCKET", read_termination="\n", write_termination="\n"
        )
        sim.timeout = 60_000
        sim_time = timed(lambda: sim.query_ascii_values(":WAV:ASC?"), max(1, repeats // 10), same)
        sim.close()
        sim_manager.close()

    manager = pyvisa.ResourceManager("@py")
    with serve({"scope": device}) as lab:
        resource = manager.open_resource(
            lab.resource("scope"), read_termination="\n", write_termination="\n"
        )
        lab_time = timed(lambda: resource.query_ascii_values(":WAV:ASC?"), repeats, same)
        resource.close()
        session = Session(open_transport(lab.resource("scope")))
        kit_time = timed(lambda: session.query_values(":WAV:ASC?"), repeats, same)
        session.close()
    manager.close()
    return [
        ("pyvisa-sim query_ascii_values", sim_time),
        ("simulated lab TCP, pyvisa-py query_ascii_values", lab_time),
        ("simulated lab TCP, instrumentkit query_values", kit_time),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ascii-points", type=int, default=10_000)
    options = parser.parse_args()

    size = options.points * 2
    rows = bench_blocks(options.points, options.repeats, options.rounds)
    baseline = rows[0][1]
    print(f"\n{options.points:,}-point int16 block ({size:,} bytes) over the lab's TCP server")
    print("| read path | ms per block | MB/s | time vs bare socket |\n|---|---|---|---|")
    for name, seconds in rows:
        rate = size / seconds / 1e6
        print(f"| {name} | {seconds * 1e3:.3f} | {rate:,.0f} | {seconds / baseline:.2f}x |")

    ascii_rows = bench_ascii(options.ascii_points, max(5, options.repeats // 3))
    sim_time = ascii_rows[0][1]
    print(f"\n{options.ascii_points:,}-point ASCII trace")
    print("| server and read path | ms per trace | speed-up vs pyvisa-sim |\n|---|---|---|")
    for name, seconds in ascii_rows:
        print(f"| {name} | {seconds * 1e3:.2f} | {sim_time / seconds:.0f}x |")


if __name__ == "__main__":
    main()
