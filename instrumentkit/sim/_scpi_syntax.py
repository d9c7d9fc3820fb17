"""SCPI header patterns (long/short forms, optional nodes, numeric suffixes) and message splitting.

A pattern is written the way manuals print it: `[:SENSe]:VOLTage[:DC]:RANGe`,
`CHANnel<n>:SCALe`, `:WAVeform:DATA?`, `*IDN?`. Upper-case letters are the short form,
the whole word the long form; either matches, in any case. A leading colon is optional,
bracketed nodes may be left out, and `<name>` marks a numeric suffix (1 when absent).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = [
    "HeaderPattern",
    "block_payload",
    "find_message_end",
    "split_message",
    "split_params",
]

_PART = re.compile(r"\[:?([^\]]+)\]|:?([^:\[\]]+)")
_NODE = re.compile(r"^(\*?[A-Za-z][A-Za-z0-9_]*)(?:<(\w+)>)?$")


def _node_regex(node: str) -> str:
    match = _NODE.match(node)
    if match is None:
        raise ValueError(f"not a SCPI header node: {node!r}")
    word, suffix = match.groups()
    long = word.upper()
    short = "".join(c for c in word if not c.islower()) if any(c.islower() for c in word) else long
    if not long.startswith(short):
        raise ValueError(f"short form of {word!r} must be its leading upper-case letters")
    forms = re.escape(long) if short == long else f"{re.escape(long)}|{re.escape(short)}"
    tail = f"(?P<{suffix}>\\d*)" if suffix else ""
    return f":(?:{forms}){tail}"


@dataclass(frozen=True)
class HeaderPattern:
    """A compiled header pattern; `match()` gives the numeric suffixes or None."""

    text: str
    query: bool
    regex: re.Pattern[str]
    suffixes: tuple[str, ...]

    @classmethod
    @functools.cache
    def compile(cls, text: str) -> HeaderPattern:
        body = text.strip()
        query = body.endswith("?")
        body = body.rstrip("?")
        pieces: list[str] = []
        position = 0
        for part in _PART.finditer(body):
            if part.start() != position:
                raise ValueError(f"cannot parse SCPI pattern {text!r} at {body[position:]!r}")
            position = part.end()
            optional, required = part.groups()
            nodes = (optional or required).lstrip(":").split(":")
            piece = "".join(_node_regex(n) for n in nodes)
            pieces.append(f"(?:{piece})?" if optional else piece)
        if position != len(body) or not pieces:
            raise ValueError(f"cannot parse SCPI pattern {text!r}")
        regex = re.compile("".join(pieces), re.IGNORECASE)
        return cls(text, query, regex, tuple(regex.groupindex))

    def match(self, header: str, query: bool | None = None) -> dict[str, int] | None:
        """Suffix values if `header` (with or without `?`) is this pattern, else None."""
        if query is None:
            query = header.endswith("?")
            header = header.rstrip("?")
        if query != self.query:
            return None
        found = self.regex.fullmatch(normalized(header))
        if found is None:
            return None
        return {name: int(value) if value else 1 for name, value in found.groupdict().items()}


def normalized(header: str) -> str:
    """`voltage:range` -> `:voltage:range`: one leading colon, for full matching."""
    return ":" + header.strip().lstrip(":")


def _skip(text: str | bytes | bytearray, index: int) -> int | None:
    """Where a quoted string or definite block starting at `index` ends (None: not yet all
    there), or `index + 1` if the character there starts neither."""
    char = text[index : index + 1]
    if char in ('"', "'", b'"', b"'"):
        close = text.find(char, index + 1)
        return None if close < 0 else close + 1
    digit = text[index + 1 : index + 2]
    if char in ("#", b"#") and digit.isdigit() and digit not in ("0", b"0"):
        count = int(digit)
        field = text[index + 2 : index + 2 + count]
        if len(field) < count:
            return None
        if not field.isdigit():
            return index + 1
        end = index + 2 + count + int(field)
        return end if end <= len(text) else None
    return index + 1


_SPECIAL = re.compile(r"[\"'#]")
_SPECIAL_BYTES = re.compile(rb"[\"'#]")


def find_message_end(buffer: bytes | bytearray, end: bytes) -> int:
    """Index of the first `end` outside quoted strings and definite blocks; -1 if none yet.

    Binary blocks sent by the host (`:TRACe:DATA #42000<2000 bytes>`) may hold any byte,
    the terminator included.
    """
    position = 0
    while True:
        terminator = buffer.find(end, position)
        special = _SPECIAL_BYTES.search(buffer, position)
        if terminator < 0 or special is None or special.start() > terminator:
            return terminator
        skipped = _skip(buffer, special.start())
        if skipped is None:
            # An unclosed quote ends at the terminator (and fails to parse later); an
            # unfinished block waits for the rest of its bytes.
            return terminator if buffer[special.start()] in b"\"'" else -1
        position = skipped


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    start = position = 0
    while True:
        cut = text.find(separator, position)
        special = _SPECIAL.search(text, position)
        if cut < 0 or special is None or special.start() > cut:
            if cut < 0:
                break
            parts.append(text[start:cut])
            start = position = cut + 1
            continue
        skipped = _skip(text, special.start())
        position = len(text) if skipped is None else skipped
    parts.append(text[start:])
    return parts


def block_payload(parameter: str) -> bytes:
    """The bytes of a definite-block parameter (`#<n><len><bytes>`) a handler received."""
    if not (parameter[:1] == "#" and parameter[1:2].isdigit() and parameter[1:2] != "0"):
        raise ValueError(f"not a definite-length block: {parameter[:16]!r}")
    count = int(parameter[1])
    length = int(parameter[2 : 2 + count])
    payload = parameter[2 + count : 2 + count + length]
    if len(payload) != length:
        raise ValueError(f"block says {length} bytes, holds {len(payload)}")
    return payload.encode("latin-1")


def split_message(message: str) -> list[tuple[str, str]]:
    """`":VOLT 1;:CURR?"` -> `[(":VOLT", "1"), (":CURR?", "")]` (empty units dropped)."""
    units = []
    for unit in _split_outside_quotes(message, ";"):
        unit = unit.strip()
        if unit:
            header, _, params = unit.partition(" ")
            header, tab, rest = header.partition("\t")
            params = f"{rest} {params}" if tab else params
            units.append((header, params.strip()))
    return units


def split_params(params: str) -> list[str]:
    """`'1, "a,b", 3'` -> `['1', '"a,b"', '3']`; an empty string gives no parameters."""
    if not params.strip():
        return []
    return [p.strip() for p in _split_outside_quotes(params, ",")]
