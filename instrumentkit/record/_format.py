"""The recording file: YAML written by hand, one exchange per entry, read back safely.

A recording is reviewed text (decision 0900): a fixed key order, each value on a short
line, text where the bytes are text (JSON-style escapes for control characters, valid in
YAML double quotes) and base64 where they are binary. The writer never goes through a
YAML emitter: an entry is a few string joins, cheap enough for the query path.

    format: instrumentkit-recording/1
    resource: "TCPIP::127.0.0.1::5025::SOCKET"
    ...
    exchanges:
    - write: "VOLT:DC:RANG?\\n"
      at: 0.0123
      reply: "+1.00000000E+01\\n"
      took: 0.0002
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from instrumentkit._yaml import load_yaml
from instrumentkit.errors import ConfigError

__all__ = [
    "FORMAT",
    "Exchange",
    "Recording",
    "entry_text",
    "header_text",
    "load_recording",
    "reply_lines",
    "write_lines",
]

FORMAT = "instrumentkit-recording/1"
_CHUNK = 72
"""Characters per line of a long text or base64 value (a list of pieces, joined on load)."""
_BINARY_CHUNK = 54
"""Bytes per base64 line (72 characters)."""
_TEXT_BYTES = bytes(range(0x20, 0x7F)) + b"\t\r\n"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One write and the bytes read after it (None: bytes the instrument sent unasked)."""

    write: bytes | None
    reply: bytes
    at: float = 0.0
    """Seconds from the start of the recording to the write."""
    took: float = 0.0
    """Seconds from the write to the last byte of the reply."""
    line: int = 0
    """Line of the entry in its file (0: unknown), for messages."""


@dataclass
class Recording:
    """A loaded recording: its header and its exchanges, in order."""

    path: str
    header: dict[str, Any]
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.header.get("name") or self.path)

    @property
    def connection(self) -> dict[str, Any]:
        connection = self.header.get("connection")
        return connection if isinstance(connection, dict) else {}


def _is_text(data: bytes) -> bool:
    """ASCII with few control characters: an SCPI reply, an ACK, not a binary block."""
    if not data.isascii():
        return False
    controls = len(data.translate(None, _TEXT_BYTES))
    return controls <= max(2, len(data) // 16)


def _value_lines(key: str, data: bytes) -> str:
    """`  key: "text"` or `  key_base64:` with one quoted piece per line."""
    if _is_text(data):
        text = data.decode("ascii")
        if len(text) <= _CHUNK:
            return f"  {key}: {_quote(text)}\n"
        pieces = (text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK))
        return f"  {key}:\n" + "".join(f"  - {_quote(p)}\n" for p in pieces)
    pieces = (
        base64.b64encode(data[i : i + _BINARY_CHUNK]).decode("ascii")
        for i in range(0, len(data), _BINARY_CHUNK)
    )
    return f"  {key}_base64:  # {len(data)} bytes\n" + "".join(f'  - "{p}"\n' for p in pieces)


def write_lines(write: bytes | None) -> str:
    """The opening lines of an entry: `- write: ...` (or `- unasked: true`)."""
    lines = _value_lines("write", write) if write is not None else "  unasked: true\n"
    return "- " + lines[2:]


def reply_lines(reply: bytes) -> str:
    """`  reply: ...` lines ("" for no reply)."""
    return _value_lines("reply", reply) if reply else ""


def entry_text(write: bytes | None, reply: bytes, at: float, took: float) -> str:
    """One exchange as YAML lines (the list item of `exchanges:`)."""
    text = f"{write_lines(write)}  at: {at:.6f}\n"
    return text + f"{reply_lines(reply)}  took: {took:.6f}\n" if reply else text


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        # YAML 1.1 readers take `1e-05` for a string: give the mantissa a dot (repr's
        # exponent never has one).
        if "e" in text and "." not in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    return _quote(str(value))


def header_text(header: dict[str, Any]) -> str:
    """The file's opening comment and header keys, in the order given, then `exchanges:`."""
    lines = [
        "# instrumentkit recording (docs/recording.md): one exchange per entry, in order.",
        "# Replay: ik.open('replay://<file>'); pyvisa-sim: instrumentkit record to-sim",
        f"format: {FORMAT}",
    ]
    for key, value in header.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {_scalar(v)}" for k, v in value.items())
        else:
            lines.append(f"{key}: {_scalar(value)}")
    lines.append("exchanges:")
    return "\n".join(lines) + "\n"


def _text_of(value: Any, key: str, where: str, path: str) -> str:
    """A scalar or a list of pieces (long values), as one string."""
    if isinstance(value, list) and all(isinstance(piece, str) for piece in value):
        value = "".join(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be text, not {value!r}", source=path)
    return value


def _bytes_of(entry: dict[str, Any], key: str, where: str, path: str) -> bytes | None:
    if key in entry:
        text = _text_of(entry[key], key, where, path)
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError as error:
            raise ConfigError(
                f"{where}: {key} holds {error.object[error.start]!a}, which is not one "
                f"byte: bytes beyond \\xff go in {key}_base64",
                source=path,
            ) from None
    encoded = entry.get(f"{key}_base64")
    if encoded is None:
        return None
    text = _text_of(encoded, f"{key}_base64", where, path)
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as error:
        raise ConfigError(f"{where}: {key}_base64 is not base64: {error}", source=path) from None


def _seconds(entry: dict[str, Any], key: str, where: str, path: str) -> float:
    value = entry.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be seconds, not {value!r}", source=path)
    return float(value)


_ENTRY_START = re.compile(r"^- ", re.MULTILINE)


def load_recording(path: str) -> Recording:
    """Read a recording; ConfigError naming the file and the entry if it is malformed."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as error:
        raise ConfigError(
            f"cannot read the recording: {error.strerror or error}; record one with "
            "ik.open(resource, record='<file>.rec.yaml')",
            source=path,
        ) from None
    document = load_yaml(text, source=path)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError(f"not an instrumentkit recording (no 'format: {FORMAT}')", source=path)
    entries = document.pop("exchanges", None) or []
    if not isinstance(entries, list):
        raise ConfigError("'exchanges' must be a list", source=path)
    # Entries start at column 0 with "- " after the `exchanges:` line (this writer's layout);
    # a hand-formatted file just gets no line numbers.
    start = text.find("\nexchanges:")
    lines = [text.count("\n", 0, m.start()) + 1 for m in _ENTRY_START.finditer(text, start + 1)]
    if len(lines) != len(entries):
        lines = [0] * len(entries)
    exchanges = []
    for index, (entry, line) in enumerate(zip(entries, lines, strict=True), 1):
        where = f"exchange {index}" + (f" (line {line})" if line else "")
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} is not a mapping", source=path)
        write = _bytes_of(entry, "write", where, path)
        if write is None and not entry.get("unasked"):
            raise ConfigError(f"{where} has neither 'write' nor 'unasked: true'", source=path)
        exchanges.append(
            Exchange(
                write=write,
                reply=_bytes_of(entry, "reply", where, path) or b"",
                at=_seconds(entry, "at", where, path),
                took=_seconds(entry, "took", where, path),
                line=line,
            )
        )
    document.pop("format")
    return Recording(path=path, header=document, exchanges=exchanges)
