"""An instrument behind the share that drops its connection (a LAN instrument rebooting) is
opened again by the next client message (decision 0010): the message that met the drop gets
an Error naming the instrument, the next one is answered, without restarting the share."""

from __future__ import annotations

import socket
import threading

import pytest

from instrumentkit.connect import open_transport
from instrumentkit.errors import InstrumentError
from instrumentkit.session import Session
from instrumentkit.share import InstrumentRules, SharedInstrument, ShareServer


def test_a_message_after_the_instrument_dropped_its_link_reaches_it_again() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: list[list[bytes]] = []

    def instrument() -> None:
        with listener:
            for connection in range(2):
                peer, _ = listener.accept()
                lines: list[bytes] = []
                seen.append(lines)
                with peer, peer.makefile("rb") as reader:
                    for line in reader:
                        lines.append(line)
                        if connection == 0:
                            break  # hangs up on the first message, unanswered
                        if line == b"*IDN?\n":
                            peer.sendall(b"Acme,REBOOTED,1,1.0\n")

    thread = threading.Thread(target=instrument, daemon=True)
    thread.start()
    shared = SharedInstrument(
        "meter",
        open_transport(f"TCPIP::127.0.0.1::{port}::SOCKET", timeout=2.0),
        InstrumentRules(timeout=2.0),
    )
    with ShareServer({"meter": shared}, port=0) as server:
        client = Session(open_transport(server.resource("meter"), timeout=5.0))
        try:
            with pytest.raises(InstrumentError, match="meter"):
                client.query("*IDN?")
            assert client.query("*IDN?") == "Acme,REBOOTED,1,1.0"
        finally:
            client.close()
    shared.close()
    thread.join(10)
    # The first link got the share's identity marker and went; the second, the query.
    assert seen == [[b"*IDN?;*OPC?\n"], [b"*IDN?\n"]]
