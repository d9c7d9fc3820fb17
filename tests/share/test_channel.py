"""The share's buffered, non-blocking channel: whole messages both ways, bounded waits."""

from __future__ import annotations

import socket
import threading

import pytest

from instrumentkit.share._protocol import (
    HEADER,
    BufferedChannel,
    MessageType,
    PeerClosed,
    encode_header,
    parse_header,
)


def _receive_all(sock: socket.socket, count: int, into: bytearray) -> None:
    while len(into) < count:
        chunk = sock.recv(4096)  # small reads: the sender meets a full socket buffer
        if not chunk:
            return
        into += chunk


def test_a_reply_larger_than_the_socket_buffers_arrives_whole() -> None:
    server, client = socket.socketpair()
    payload = bytes(range(256)) * 16384  # 4 MiB: many times what the kernel buffers
    received = bytearray()
    reader = threading.Thread(
        target=_receive_all, args=(client, HEADER.size + len(payload), received)
    )
    reader.start()
    try:
        BufferedChannel(server, timeout=10.0).send(MessageType.DATA_END, 0, 0xFFFF_FF00, payload)
        reader.join(10)
        header = parse_header(bytes(received[: HEADER.size]))
        assert header == (MessageType.DATA_END, 0, 0xFFFF_FF00, len(payload))
        assert received[HEADER.size :] == payload
    finally:
        server.close()
        client.close()


def test_a_client_that_never_reads_times_the_send_out() -> None:
    server, client = socket.socketpair()
    try:
        channel = BufferedChannel(server, timeout=0.2)
        with pytest.raises(
            TimeoutError, match=r"no progress for 0\.2 s \(\d+ of 8388608 bytes sent"
        ):
            channel.send(MessageType.DATA_END, 0, 1, bytes(1 << 23))
    finally:
        server.close()
        client.close()


def test_reads_whole_messages_from_pieces_and_large_payloads() -> None:
    server, client = socket.socketpair()
    big = bytes(range(256)) * 1024  # over the channel's chunk: read straight into place
    channel = BufferedChannel(server, timeout=5.0, chunk=4096)
    wire = encode_header(MessageType.DATA, 0, 7, 3) + b"abc" + encode_header(7, 0, 9, len(big))

    def write() -> None:
        client.sendall(wire[:5])  # a header split across segments
        client.sendall(wire[5:] + big)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert channel.wait_for_message(5.0)
        assert parse_header(channel.read(HEADER.size)) == (MessageType.DATA, 0, 7, 3)
        assert channel.read(3) == b"abc"
        assert parse_header(channel.read(HEADER.size)) == (MessageType.DATA_END, 0, 9, len(big))
        assert channel.read(len(big)) == big
        writer.join(5)
        client.close()
        with pytest.raises(PeerClosed):
            channel.read(1)
    finally:
        server.close()
        client.close()


def test_a_message_cut_short_times_out_on_the_channel_timeout() -> None:
    server, client = socket.socketpair()
    try:
        client.sendall(encode_header(MessageType.DATA_END, 0, 1, 10) + b"abc")
        channel = BufferedChannel(server, timeout=0.2)
        channel.read(HEADER.size)
        with pytest.raises(TimeoutError, match=r"no progress for 0\.2 s"):
            channel.read(10)
    finally:
        server.close()
        client.close()


def test_read_message_serves_a_lone_message_whole_and_others_through_the_buffer() -> None:
    server, client = socket.socketpair()
    channel = BufferedChannel(server, timeout=5.0)
    try:
        client.sendall(encode_header(MessageType.DATA_END, 0, 5, 6) + b"*IDN?\n")
        assert channel.wait_for_message(5.0)
        header, payload = channel.read_message()
        assert (parse_header(header), payload) == ((MessageType.DATA_END, 0, 5, 6), b"*IDN?\n")
        assert channel.buffered == 0
        # Two messages in one segment: the first header, then the rest from the buffer.
        client.sendall(encode_header(MessageType.DATA, 0, 7, 2) + b"ab" + encode_header(7, 0, 7, 0))
        assert channel.wait_for_message(5.0)
        header, payload = channel.read_message()
        assert (parse_header(header), payload) == ((MessageType.DATA, 0, 7, 2), None)
        assert channel.read(2) == b"ab"
        header, payload = channel.read_message()
        assert (parse_header(header), payload) == ((MessageType.DATA_END, 0, 7, 0), None)
        assert channel.buffered == 0
    finally:
        server.close()
        client.close()
