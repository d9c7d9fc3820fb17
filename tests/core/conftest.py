"""Small real peers for transport tests: a loopback TCP instrument that answers lines, a
private pyvisa-sim backend."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.simfiles import sim_path

Responder = Callable[[bytes], bytes | None]


class LineServer:
    """Accepts one client at a time; for each received line, sends responder(line)."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def resource(self) -> str:
        return f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                buffer = b""
                while not self._stop.is_set():
                    try:
                        conn.settimeout(0.1)
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        break
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        self.received.append(line)
                        reply = self.responder(line)
                        if reply is None:
                            continue
                        if reply == b"<close>":
                            conn.close()
                            break
                        conn.sendall(reply)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(2)
        self.listener.close()


@pytest.fixture
def line_server() -> Iterator[Callable[[Responder], LineServer]]:
    servers: list[LineServer] = []

    def start(responder: Responder) -> LineServer:
        server = LineServer(responder)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@contextmanager
def _chattering(send: Callable[[bytes], object]) -> Iterator[None]:
    stop = threading.Event()

    def chatter() -> None:
        while not stop.wait(0.01):
            send(b"noise")

    talker = threading.Thread(target=chatter)
    talker.start()
    try:
        yield
    finally:
        stop.set()
        talker.join()


@pytest.fixture
def chattering() -> Callable[[Callable[[bytes], object]], Any]:
    """`with chattering(send):` a device that sends a few bytes every 10 ms, never quiet."""
    return _chattering


@pytest.fixture
def accepted_peer() -> Iterator[Callable[[Callable[[int], Any]], tuple[Any, socket.socket]]]:
    """`accepted_peer(lambda port: <open a transport on 127.0.0.1:port>)`: the transport
    and the accepted socket at its other end, driven by the test itself. Closed after."""
    opened: list[Any] = []
    listener = socket.create_server(("127.0.0.1", 0))
    opened.append(listener)

    def make(open_on: Callable[[int], Any]) -> tuple[Any, socket.socket]:
        transport = open_on(listener.getsockname()[1])
        peer, _ = listener.accept()
        opened.extend((transport, peer))
        return transport, peer

    yield make
    for item in reversed(opened):
        item.close()


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port where a connect hangs: listen(0) with its one queue place taken, so
    the kernel drops the next SYN."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            yield port


@pytest.fixture
def sim_copy(tmp_path: Path) -> str:
    """A pyvisa-sim backend of its own: a copy of the 34461A's sim file (its manager is
    not shared with other tests)."""
    path = tmp_path / "dmm.yaml"
    shutil.copy(sim_path(Keysight34461A), path)
    return f"{path}@sim"
