"""Small real peers for transport tests: a loopback TCP instrument that answers lines."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

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
