"""The HiSLIP server: accepts connections, pairs channels into clients, enforces access.

A client opens two TCP connections to the same port: the synchronous channel, which
starts with Initialize (naming the sub-address, `hislip_<name>`), and the asynchronous
one, which starts with AsyncInitialize carrying the session id the server handed out.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import socket
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType

from instrumentkit.errors import ConfigError
from instrumentkit.share._client import Client, ProtocolViolation
from instrumentkit.share._instrument import Network, SharedInstrument
from instrumentkit.share._limits import Limits
from instrumentkit.share._protocol import (
    HEADER,
    PROTOCOL_VERSION,
    VENDOR_ID,
    FatalCode,
    MessageType,
    parse_header,
    recv_exact,
    send_message,
)
from instrumentkit.share._usage import UsageRecord

__all__ = ["DEFAULT_PORT", "LOOPBACK", "ShareServer", "is_loopback_host", "parse_networks"]

log = logging.getLogger("instrumentkit.share")

DEFAULT_PORT = 4880
"""HiSLIP's registered port."""
LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
_MAX_SUB_ADDRESS = 256


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """Networks from CIDR texts (`10.0.0.0/24`, `192.168.1.7`); ConfigError names a bad one."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as error:
            raise ConfigError(
                f"{text!r} is not a network: {error}; write CIDR, e.g. 192.168.1.0/24"
            ) from None
    return tuple(networks)


def is_loopback_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class ShareServer:
    """Serve `instruments` over HiSLIP until `close()`.

        with ShareServer({"dmm": SharedInstrument("dmm", transport)}, port=0) as server:
            print(server.resource("dmm"))   # TCPIP::127.0.0.1::hislip_dmm,PORT::INSTR

    `allow`: networks whose clients may connect (default: loopback only). A host that is
    not loopback needs `allow`. The first instrument also answers at `hislip0`.
    """

    def __init__(
        self,
        instruments: Mapping[str, SharedInstrument],
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        allow: Iterable[Network] | None = None,
        limits: Limits | None = None,
        usage: UsageRecord | None = None,
    ) -> None:
        if not instruments:
            raise ConfigError("nothing to share: give at least one instrument")
        self.instruments = dict(instruments)
        self.host = host
        self.allow = tuple(allow) if allow else LOOPBACK
        if not is_loopback_host(host) and allow is None:
            raise ConfigError(
                f"listening on {host} reaches other machines: give the client networks "
                "that may connect (--allow 192.168.1.0/24), or listen on 127.0.0.1"
            )
        self.limits = limits or Limits()
        self.usage = usage
        self._requested_port = port
        self.port = port
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._clients: dict[int, Client] = {}
        self._sockets = 0
        self._ids = itertools.cycle(range(1, 0x10000))
        self._threads: list[threading.Thread] = []

    # -- addresses
    def sub_addresses(self) -> dict[str, str]:
        """Sub-address -> instrument name."""
        names = list(self.instruments)
        table = {f"hislip_{name}": name for name in names}
        table["hislip0"] = names[0]
        return table

    def resource(self, name: str, host: str | None = None) -> str:
        if name not in self.instruments:
            raise KeyError(f"no shared instrument {name!r}; shared: {sorted(self.instruments)}")
        address = host or self.host
        if ":" in address:
            address = f"[{address}]"
        return f"TCPIP::{address}::hislip_{name},{self.port}::INSTR"

    @property
    def clients(self) -> list[Client]:
        with self._lock:
            return list(self._clients.values())

    # -- running
    def start(self) -> ShareServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server(
            (self.host, self._requested_port), family=family, backlog=64
        )
        listener.settimeout(0.2)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._spawn(self._accept_loop, "share-accept")
        return self

    def _spawn(self, target: object, name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        thread.start()
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)

    def _allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.allow)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                sock, address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            peer = (address[0], address[1])
            if not self._allowed(peer[0]):
                log.warning("refused a connection from %s (not in --allow)", peer[0])
                self._record("rejected", "address not allowed", peer[0])
                sock.close()
                continue
            with self._lock:
                too_many = self._sockets >= 2 * self.limits.max_clients + 8
                if not too_many:
                    self._sockets += 1
            if too_many:
                self._refuse(sock, FatalCode.TOO_MANY_CLIENTS, "too many connections", peer[0])
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._serve_connection, f"share-{peer[0]}:{peer[1]}", sock, peer)

    def _record(self, kind: str, detail: str, client: str) -> None:
        if self.usage is not None:
            self.usage.event(kind, detail, client=client)

    def _refuse(self, sock: socket.socket, code: FatalCode, text: str, client: str) -> None:
        self._record("fatal", text, client)
        try:
            sock.settimeout(1.0)
            send_message(sock, MessageType.FATAL_ERROR, code, 0, text.encode())
        except OSError:
            pass
        sock.close()

    def _serve_connection(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        try:
            sock.settimeout(self.limits.handshake_timeout)
            raw = recv_exact(sock, HEADER.size)
            header = parse_header(bytes(raw))
            if header is None:
                raise ProtocolViolation(
                    FatalCode.POORLY_FORMED_HEADER, "a message must start with 'HS'"
                )
            if header.type == MessageType.INITIALIZE:
                self._initialize(sock, peer, header.parameter, header.length)
            elif header.type == MessageType.ASYNC_INITIALIZE:
                self._async_initialize(sock, header.parameter, header.length)
            else:
                raise ProtocolViolation(
                    FatalCode.INVALID_INITIALIZATION,
                    f"a connection must start with Initialize or AsyncInitialize, not message "
                    f"type {header.type}",
                )
        except ProtocolViolation as violation:
            self._refuse(sock, violation.code, str(violation), peer[0])
        except OSError:
            sock.close()
        finally:
            with self._lock:
                self._sockets -= 1

    def _initialize(
        self, sock: socket.socket, peer: tuple[str, int], parameter: int, length: int
    ) -> None:
        if length > _MAX_SUB_ADDRESS:
            raise ProtocolViolation(
                FatalCode.INVALID_INITIALIZATION, f"sub-address of {length} bytes"
            )
        sub_address = bytes(recv_exact(sock, length)).decode("latin-1") if length else "hislip0"
        table = self.sub_addresses()
        name = table.get(sub_address.strip().rstrip("\0"))
        if name is None:
            raise ProtocolViolation(
                FatalCode.INVALID_INITIALIZATION,
                f"no instrument at sub-address {sub_address!r}; known: {', '.join(table)}",
            )
        instrument = self.instruments[name]
        with self._lock:
            if len(self._clients) >= self.limits.max_clients:
                full = f"the share has its maximum of {self.limits.max_clients} clients"
            elif instrument.clients >= instrument.rules.max_clients:
                full = f"{name} has its maximum of {instrument.rules.max_clients} clients"
            else:
                full = ""
                session_id = next(i for i in self._ids if i not in self._clients)
                instrument.clients += 1
        if full:
            raise ProtocolViolation(FatalCode.TOO_MANY_CLIENTS, full + "; try again later")
        client = Client(
            session_id, instrument, sock, peer, limits=self.limits, usage=self.usage,
            on_close=self._closed,
        )  # fmt: skip
        with self._lock:
            self._clients[session_id] = client
        client_version = parameter >> 16
        version = min(client_version, PROTOCOL_VERSION) or PROTOCOL_VERSION
        # Control code 0: synchronized mode, the only mode this server offers.
        send_message(sock, MessageType.INITIALIZE_RESPONSE, 0, (version << 16) | session_id)
        log.info("%s:%d opened %s as %s (session %d)", *peer, name, client.role, session_id)
        if self._stop.is_set():
            client.close("server stopped")
            return
        client.serve_sync()

    def _async_initialize(self, sock: socket.socket, session_id: int, length: int) -> None:
        if length:
            raise ProtocolViolation(
                FatalCode.INVALID_INITIALIZATION, "AsyncInitialize carries no payload"
            )
        with self._lock:
            client = self._clients.get(session_id)
            if client is not None and client.async_ is not None:
                client = None
            if client is not None:
                client.async_ = sock
        if client is None:
            raise ProtocolViolation(
                FatalCode.INVALID_INITIALIZATION,
                f"no synchronous channel waits for session {session_id}",
            )
        vendor = int.from_bytes(VENDOR_ID, "big")
        send_message(sock, MessageType.ASYNC_INITIALIZE_RESPONSE, 0, vendor)
        client.serve_async(sock)

    def _closed(self, client: Client) -> None:
        with self._lock:
            if self._clients.pop(client.session_id, None) is client:
                client.instrument.clients -= 1

    def close(self) -> None:
        """Stop accepting, disconnect every client (their locks go with them)."""
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        for client in self.clients:
            client.close("server stopped")
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=2.0)

    def __enter__(self) -> ShareServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
