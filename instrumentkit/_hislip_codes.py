"""What a HiSLIP server says at the opening and in its errors, read for our client (IVI-6.1).

Kept apart from `hislip_transport` so the transport holds the message flow only. The code
meanings are IVI-6.1's tables of fatal and non-fatal error codes (1.1/2.0 numbering, as
pyvisa-py and MSL-Equipment transcribe them); 128-255 are the device's own.
"""

from __future__ import annotations

from instrumentkit.share._protocol import PROTOCOL_VERSION, MessageType

__all__ = [
    "describe_error",
    "describe_message",
    "negotiated_version",
    "overlapped_refusal",
    "prefers_overlap",
]

_FATAL = {
    0: "unidentified error",
    1: "poorly formed message header",
    2: "attempt to use the connection without both channels established",
    3: "invalid initialization sequence",
    4: "server refused the connection: maximum number of clients exceeded",
    5: "secure connection failed",
}
_NON_FATAL = {
    0: "unidentified error",
    1: "unrecognized message type",
    2: "unrecognized control code",
    3: "unrecognized vendor defined message",
    4: "message too large",
    5: "authentication failed",
}
_PREFER_OVERLAP = 0b001
"""InitializeResponse control bit 0: the server prefers overlapped mode."""
_ENCRYPTION = 0b110
"""InitializeResponse control bits 1 (encryption mandatory) and 2 (initial encryption),
HiSLIP 2.0: the session must be encrypted, which this client does not do."""
_VISA_HINT = "open it through a VISA library that does (backend='' for the installed vendor VISA)"


def describe_error(kind: int, code: int, payload: bytes) -> str:
    """`fatal error 3 (invalid initialization sequence): <the server's text>`."""
    fatal = kind == MessageType.FATAL_ERROR
    table = _FATAL if fatal else _NON_FATAL
    meaning = table.get(code, "device-defined" if code >= 128 else "reserved code")
    text = payload[:300].decode("latin-1", "replace").strip()
    return f"{'fatal error' if fatal else 'error'} {code} ({meaning}){': ' + text if text else ''}"


def describe_message(kind: int, code: int, payload: bytes) -> str:
    """An error as `describe_error` does; another message by its type's name."""
    if kind in (MessageType.ERROR, MessageType.FATAL_ERROR):
        return describe_error(kind, code, payload)
    name = MessageType(kind).name if kind in MessageType._value2member_map_ else str(kind)
    text = payload[:300].decode("latin-1", "replace")
    return f"{name} (code {code}){': ' + text if text else ''}"


def negotiated_version(resource: str, parameter: int) -> int:
    """The version both ends use (IVI-6.1: the smaller of the two), from an
    InitializeResponse's parameter; ConnectionError below HiSLIP 1.0."""
    version = parameter >> 16
    major, minor = version >> 8, version & 0xFF
    if major < 1:
        raise ConnectionError(
            f"{resource}: the server answered Initialize with protocol version {major}.{minor}; "
            "HiSLIP servers speak 1.0 or later: is this port a HiSLIP server?"
        )
    return min(version, PROTOCOL_VERSION)


def prefers_overlap(resource: str, control: int) -> bool:
    """Whether the server prefers overlapped mode (the client then asks for synchronized
    mode at a device clear); ConnectionError when it demands encryption."""
    if control & _ENCRYPTION:
        raise ConnectionError(
            f"{resource}: the HiSLIP server requires an encrypted connection (HiSLIP 2.0 "
            f"secure connection, InitializeResponse control code {control:#05b}), which "
            f"instrumentkit's client does not speak; {_VISA_HINT}, or turn the instrument's "
            "HiSLIP encryption off"
        )
    return bool(control & _PREFER_OVERLAP)


def overlapped_refusal(resource: str) -> ConnectionError:
    return ConnectionError(
        f"{resource}: the HiSLIP server keeps overlapped mode after a device clear asked for "
        f"synchronized mode, the only mode instrumentkit's client speaks; {_VISA_HINT}"
    )
