"""HiSLIP locks of one shared instrument: one exclusive holder, or a shared lock by key.

The rules are VISA's (which HiSLIP carries): an exclusive lock is granted when no other
client holds any lock; a shared lock with key K when no other client holds the exclusive
lock and every shared lock held is K. While locks are held, only their holders' messages
reach the instrument; the others wait (their reads time out) until the locks go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["LockTable"]


class LockTable:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._exclusive: int | None = None
        self._shared: dict[int, str] = {}

    # -- questions
    @property
    def held(self) -> bool:
        """Whether any lock is held, read without waiting (messages skip the wait when not:
        a lock granted just after counts as granted just after the message arrived)."""
        return self._exclusive is not None or bool(self._shared)

    def holders(self) -> int:
        with self._changed:
            exclusive = [] if self._exclusive is None else [self._exclusive]
            return len({*self._shared, *exclusive})

    def exclusive_held(self) -> bool:
        with self._changed:
            return self._exclusive is not None

    def holds(self, client: int) -> str | None:
        """ "exclusive", "shared" or None."""
        with self._changed:
            if self._exclusive == client:
                return "exclusive"
            return "shared" if client in self._shared else None

    def _may_access(self, client: int) -> bool:
        if self._exclusive is not None:
            return self._exclusive == client
        return not self._shared or client in self._shared

    def _grantable(self, client: int, key: str) -> bool:
        if key == "":
            others = {*self._shared} - {client}
            return self._exclusive in (None, client) and not others
        if self._exclusive not in (None, client):
            return False
        return all(held == key for other, held in self._shared.items() if other != client)

    # -- waiting
    def wait_for_access(self, client: int, give_up: Callable[[], bool]) -> bool:
        """Block until `client` may use the instrument; False if `give_up()` turned true."""
        with self._changed:
            while not self._may_access(client):
                if give_up():
                    return False
                self._changed.wait(0.05)
            return True

    def request(
        self, client: int, key: str, timeout: float, give_up: Callable[[], bool]
    ) -> bool | None:
        """Take a lock (`key` "" is exclusive). True granted, False timed out, None invalid
        (the client already holds that kind of lock, or a shared lock with another key)."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            if key == "" and self._exclusive == client:
                return None
            if key and client in self._shared:
                return None
            while not self._grantable(client, key):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or give_up():
                    return False
                self._changed.wait(min(remaining, 0.05))
            if key:
                self._shared[client] = key
            else:
                self._exclusive = client
            return True

    def release(self, client: int) -> str | None:
        """Release `client`'s exclusive lock if it has one, else its shared lock; says which."""
        with self._changed:
            if self._exclusive == client:
                self._exclusive = None
                released = "exclusive"
            elif client in self._shared:
                del self._shared[client]
                released = "shared"
            else:
                return None
            self._changed.notify_all()
            return released

    def release_all(self, client: int) -> list[str]:
        released = []
        while (kind := self.release(client)) is not None:
            released.append(kind)
        return released
