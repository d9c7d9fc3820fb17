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

__all__ = ["HeaderPattern", "split_message", "split_params"]

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


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    quote = ""
    start = 0
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def split_message(message: str) -> list[tuple[str, str]]:
    """`":VOLT 1;:CURR?"` -> `[(":VOLT", "1"), (":CURR?", "")]` (empty units dropped)."""
    units = []
    for unit in _split_outside_quotes(message, ";"):
        unit = unit.strip()
        if unit:
            header, _, params = unit.partition(" ")
            units.append((header, params.strip()))
    return units


def split_params(params: str) -> list[str]:
    """`'1, "a,b", 3'` -> `['1', '"a,b"', '3']`; an empty string gives no parameters."""
    if not params.strip():
        return []
    return [p.strip() for p in _split_outside_quotes(params, ",")]
