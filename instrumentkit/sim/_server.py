"""A loopback TCP server for simulated devices: raw SCPI sockets, one port per device.

Like an LXI instrument's port 5025: pyvisa-py opens it as `TCPIP::127.0.0.1::<port>::SOCKET`,
instrumentkit's SocketTransport as well. One client at a time per device (the next waits
in the listen backlog), as many clients one after another as you like.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import select
import socket
import threading
from collections.abc import Mapping
from types import TracebackType

from instrumentkit.errors import ConfigError
from instrumentkit.sim._device import Device

__all__ = [
    "DeviceServer",
    "LabServer",
    "advertised_host",
    "check_listen_address",
    "is_loopback",
    "serve",
]

log = logging.getLogger("instrumentkit.sim")

_POLL = 0.05
_RECV = 1 << 16
_WILDCARDS = ("", "0.0.0.0", "::")
_ROUTE_PROBE = ("192.0.2.1", 9)
"""A TEST-NET-1 address (RFC 5737): only asked of the routing table, never sent to."""


def is_loopback(host: str) -> bool:
    """True for addresses only this computer reaches (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_listen_address(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback listen address unless remote access was asked for."""
    if is_loopback(host) or allow_remote:
        return
    where = "every network interface" if host in _WILDCARDS else f"the network at {host}"
    raise ConfigError(
        f"listening on {host!r} exposes every simulated device to {where}, with no "
        "authentication; pass --allow-remote (allow_remote: true in the lab file, "
        "allow_remote=True in Python) to do that on purpose, or keep the default 127.0.0.1",
        field="host",
    )


def _primary_address() -> str:
    """This computer's address on its default route, else its host name.

    connect() on a UDP socket sends nothing; it asks the kernel which source address a
    packet to that destination would leave from.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_ROUTE_PROBE)
            return str(probe.getsockname()[0])
        except OSError:
            return socket.gethostname()


def advertised_host(host: str) -> str:
    """The address other computers use for a server listening on `host`."""
    return _primary_address() if host in _WILDCARDS else host


class DeviceServer:
    """One device on one listening socket, served by a thread (plus a reply thread per client)."""

    def __init__(
        self, name: str, device: Device, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.name = name
        self.device = device
        self._listener = socket.create_server((host, port), backlog=8)
        bound_host, self.port = self._listener.getsockname()[:2]
        # In this process, a wildcard listener is reached over loopback; from elsewhere,
        # at this computer's own address.
        self.host = "127.0.0.1" if bound_host in _WILDCARDS else bound_host
        self.remote_host = advertised_host(bound_host)
        self.resource = f"TCPIP::{self.host}::{self.port}::SOCKET"
        self.remote_resource = f"TCPIP::{self.remote_host}::{self.port}::SOCKET"
        self._stop = threading.Event()
        self._client: socket.socket | None = None
        self._thread = threading.Thread(target=self._accept_loop, name=f"iksim-{name}", daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([self._listener], [], [], _POLL)
                if not readable:
                    continue
                client, _ = self._listener.accept()
            except OSError:
                break
            self._client = client
            try:
                self._serve_client(client)
            finally:
                self._client = None
                client.close()

    def _serve_client(self, client: socket.socket) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.device.host_connected()
        done = threading.Event()
        send_lock = threading.Lock()
        writer = threading.Thread(
            target=self._send_late_replies,
            args=(client, done, send_lock),
            name=f"iksim-{self.name}-tx",
            daemon=True,
        )
        writer.start()
        outbox = self.device.outbox
        try:
            while not done.is_set() and not self._stop.is_set():
                readable, _, _ = select.select([client], [], [], _POLL)
                if not readable:
                    continue
                data = client.recv(_RECV)
                if not data:
                    break
                # Replies already due leave from this thread: no hand-over to the writer,
                # which is woken only for what is left (replies due later).
                outbox.hold_wakeups()
                try:
                    self.device.host_write(data)
                    self._send_due(client, done, send_lock)
                finally:
                    outbox.release_wakeups()
        except OSError:
            pass
        except Exception:  # a bug in a model: hang up on this client, keep serving
            log.exception("simulated device %r failed; closing the connection", self.name)
        finally:
            done.set()
            writer.join()
            self.device.host_disconnected()

    def _send_due(self, client: socket.socket, done: threading.Event, lock: threading.Lock) -> None:
        """Send every packet that is due, in order (the lock keeps the two senders in line)."""
        outbox = self.device.outbox
        with lock:
            while not done.is_set() and (packet := outbox.released()) is not None:
                try:
                    client.sendall(memoryview(packet.data))
                    if packet.disconnect:
                        client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    done.set()
                if packet.disconnect:
                    done.set()

    def _send_late_replies(
        self, client: socket.socket, done: threading.Event, lock: threading.Lock
    ) -> None:
        outbox = self.device.outbox
        while not done.is_set() and not self._stop.is_set():
            # Also after a wait that timed out: a model may have output nobody asked for.
            outbox.wait_due(_POLL)
            self._send_due(client, done, lock)

    def close(self) -> None:
        """Stop serving: hang up on the client, close the port, join the threads."""
        self._stop.set()
        client = self._client
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
        self._thread.join()
        self._listener.close()


class LabServer:
    """Several devices served at once, one port each; a context manager.

    `ports` pins ports by device name (0 or missing: an ephemeral port). A host that is
    not a loopback address needs `allow_remote=True` (checked before anything listens);
    the devices are then reachable, unauthenticated, by anyone who reaches the host.
    """

    def __init__(
        self,
        devices: Mapping[str, Device],
        *,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        allow_remote: bool = False,
    ) -> None:
        check_listen_address(host, allow_remote)
        self.devices = dict(devices)
        self.host = host
        self._ports = dict(ports or {})
        self._servers: dict[str, DeviceServer] = {}

    def start(self) -> LabServer:
        if not is_loopback(self.host) and not self._servers:
            log.warning(
                "the simulated lab listens on %s (reachable as %s): anyone who reaches "
                "this address can drive its devices",
                self.host,
                advertised_host(self.host),
            )
        for name, device in self.devices.items():
            if name in self._servers:
                continue
            port = self._ports.get(name, 0)
            try:
                self._servers[name] = DeviceServer(name, device, host=self.host, port=port)
            except OSError as error:
                self.close()
                raise OSError(
                    error.errno,
                    f"simulated device {name!r} cannot listen on {self.host}:{port}: "
                    f"{error.strerror or error}",
                ) from error
        return self

    def close(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def resources(self) -> dict[str, str]:
        """Device name -> `TCPIP::127.0.0.1::<port>::SOCKET`."""
        return {name: server.resource for name, server in self._servers.items()}

    @property
    def remote_resources(self) -> dict[str, str]:
        """Device name -> the resource other computers use (this host's own address)."""
        return {name: server.remote_resource for name, server in self._servers.items()}

    def resource(self, name: str) -> str:
        return self._servers[name].resource

    def port(self, name: str) -> int:
        return self._servers[name].port

    def device(self, name: str) -> Device:
        return self.devices[name]


def serve(
    devices: Mapping[str, Device] | Device,
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    allow_remote: bool = False,
) -> LabServer:
    """Start serving `devices` (a single device is named "device"); use it as a context manager.

    with serve({"dmm": Dmm(seed=1)}) as lab:
        session = Session(open_transport(lab.resource("dmm")))
    """
    if isinstance(devices, Device):
        devices = {"device": devices}
    return LabServer(devices, host=host, ports=ports, allow_remote=allow_remote).start()
