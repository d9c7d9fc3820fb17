"""Bounds that keep one client from hurting the others (from the share file or the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    max_clients: int = 32
    """Clients connected at once, all instruments together."""
    max_message_size: int = 1 << 20
    """Largest HiSLIP message payload accepted, announced by AsyncMaximumMessageSize."""
    max_program_size: int = 64 << 20
    """Largest program message a client may assemble from Data messages."""
    idle_timeout: float = 600.0
    """Seconds a client's synchronous channel may stay silent before it is closed."""
    io_timeout: float = 30.0
    """Seconds to finish receiving a message once its header began, or to send a reply
    (a client that never reads is closed after this)."""
    handshake_timeout: float = 5.0
    """Seconds a new connection has to send its Initialize or AsyncInitialize."""
