"""What the share needs to know about a program message, and how to read one reply.

A HiSLIP server cannot ask the client whether it expects a reply: it must know from
the message. For SCPI instruments (IEEE 488.2) a program message expects a reply when
one of its units is a query (its header ends with `?`). Quoted strings and binary blocks
are skipped while splitting, so a `;` or `?` inside data never counts: a definite block
(`#<n><length>`) by its length, an indefinite one (`#0`) to the end of the message.
"""

from __future__ import annotations

import functools
import re

from instrumentkit.transport import Transport

__all__ = ["is_query", "query_units", "read_reply"]

_BLANKS = bytes(range(0x21))  # IEEE 488.2 <white space> (0-32), and LF at the end


def _skip_block(message: bytes, index: int) -> int:
    """Index after the block starting at `index` (or just after `#` if none starts there)."""
    if index + 1 < len(message) and message[index + 1] == 0x30:
        return len(message)  # `#0`: indefinite length, its data ends with the message
    if index + 1 >= len(message) or not 0x31 <= message[index + 1] <= 0x39:
        return index + 1  # a `#H`/`#Q`/`#B` number: nothing to skip
    digits = message[index + 1] - 0x30
    length_field = message[index + 2 : index + 2 + digits]
    if len(length_field) < digits or not length_field.isdigit():
        return index + 1
    return index + 2 + digits + int(length_field)


_SPECIAL = re.compile(rb"[\"';#]")


def _units(message: bytes) -> list[bytes]:
    units: list[bytes] = []
    start = index = 0
    while (found := _SPECIAL.search(message, index)) is not None:
        index = found.start()
        byte = message[index]
        if byte in (0x22, 0x27):  # a quoted string: up to the same quote
            end = message.find(bytes([byte]), index + 1)
            index = len(message) if end < 0 else end + 1
        elif byte == 0x23:  # '#'
            index = _skip_block(message, index)
        else:  # ';'
            units.append(message[start:index])
            index += 1
            start = index
    units.append(message[start:])
    return [unit.strip(_BLANKS) for unit in units if unit.strip(_BLANKS)]


def query_units(message: bytes) -> int:
    """How many units of `message` are queries (header ending with `?`)."""
    if len(message) <= _CACHED_LENGTH:
        return _short_query_units(message)
    return _count_queries(message)


_CACHED_LENGTH = 128


@functools.lru_cache(maxsize=512)
def _short_query_units(message: bytes) -> int:
    """Clients repeat the same short messages (`*IDN?`, `READ?`): split each once."""
    return _count_queries(message)


def _count_queries(message: bytes) -> int:
    count = 0
    for unit in _units(message):
        header = unit.split(None, 1)[0]
        if header.endswith(b"?"):
            count += 1
    return count


def is_query(message: bytes) -> bool:
    """True when every unit of `message` is a query (what an observer may send)."""
    units = _units(message)
    return bool(units) and all(unit.split(None, 1)[0].endswith(b"?") for unit in units)


def read_reply(transport: Transport, terminator: bytes) -> bytes | bytearray:
    """One response message, terminator included, with binary blocks read by their length.

    A definite block (`#<n><length>`) may hold the terminator byte anywhere: the block is
    read by its declared length, straight into the reply's buffer, then the reply goes on
    to its own terminator.
    """
    reply = bytearray()
    while True:
        chunk = transport.read_until(terminator)
        block = _open_block(chunk)
        if block is None:
            if not reply:
                return chunk + terminator
            reply += chunk + terminator
            return reply
        payload_start, length = block
        # The terminator we stopped at belongs to the block's data.
        head = chunk + terminator
        missing = max(0, length - (len(chunk) - payload_start) - len(terminator))
        start = len(reply)
        grown = bytearray(start + len(head) + missing)  # sized once, filled in place
        grown[:start] = reply
        grown[start : start + len(head)] = head
        transport.read_into(memoryview(grown)[start + len(head) :])
        reply = grown


def _open_block(chunk: bytes) -> tuple[int, int] | None:
    """(payload start, declared length) of the last definite block that `chunk` does not
    hold whole, or None."""
    index = 0
    while True:
        index = chunk.find(b"#", index)
        if index < 0:
            return None
        if index + 1 < len(chunk) and 0x31 <= chunk[index + 1] <= 0x39:
            digits = chunk[index + 1] - 0x30
            field = chunk[index + 2 : index + 2 + digits]
            if len(field) == digits and field.isdigit():
                start = index + 2 + digits
                length = int(field)
                if len(chunk) - start < length:
                    return start, length
                index = start + length
                continue
        index += 1
