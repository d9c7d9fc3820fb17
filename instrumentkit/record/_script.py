"""Walking a recording: which reply answers a write, strictly in order or by command."""

from __future__ import annotations

from typing import Literal

from instrumentkit.errors import ProtocolError
from instrumentkit.record._format import Exchange, Recording

__all__ = ["Mode", "ReplayMismatch", "Script", "side_by_side"]

Mode = Literal["strict", "lenient"]
_SHOWN = 60
"""Bytes of each side shown around the first difference."""


class ReplayMismatch(ProtocolError):
    """The program sent what the recording does not have at this point."""

    def __init__(
        self, message: str, *, expected: bytes | None, actual: bytes, instrument: str, command: str
    ) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(message, instrument=instrument, command=command)


def _shown(data: bytes, start: int) -> str:
    window = data[start : start + _SHOWN]
    text = repr(window)
    return ("..." if start else "") + text + ("..." if len(data) > start + _SHOWN else "")


def side_by_side(expected: bytes, actual: bytes) -> str:
    """Two aligned lines and a caret under the first byte that differs."""
    first = next(
        (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
        min(len(expected), len(actual)),
    )
    start = max(0, first - _SHOWN // 2)
    left, right = _shown(expected, start), _shown(actual, start)
    # Position of the caret: the repr of the bytes before the difference, minus "b'".
    prefix = len(repr(actual[start:first])) - 1 + (3 if start else 0)
    return (
        f"  expected (recording): {left}\n"
        f"  actual   (program):   {right}\n"
        f"  {' ' * 22}{' ' * prefix}^ first difference at byte {first}"
    )


def _command(data: bytes) -> str:
    return data.decode("latin-1").strip()


class Script:
    """The exchanges of a recording and how far a replay has come through them.

    Strict: each write must be the next recorded one. Lenient: a write is answered by the
    first unused exchange with the same bytes after the furthest one answered so far (then
    from the start), and by the last reply recorded for it once every such one was used.
    """

    def __init__(self, recording: Recording, mode: Mode = "strict") -> None:
        if mode not in ("strict", "lenient"):
            raise ValueError(f"replay mode must be 'strict' or 'lenient', not {mode!r}")
        self.recording = recording
        self.mode = mode
        self.exchanges = recording.exchanges
        self.position = 0
        self.used = [False] * len(self.exchanges)
        self.mismatches: list[ReplayMismatch] = []

    def unasked(self) -> list[Exchange]:
        """Replies the instrument sent before the next write: due now, in order."""
        due = []
        while self.position < len(self.exchanges) and self.exchanges[self.position].write is None:
            due.append(self.exchanges[self.position])
            self.used[self.position] = True
            self.position += 1
        return due

    def answer(self, data: bytes) -> Exchange:
        """The recorded exchange for this write; ReplayMismatch if there is none."""
        index = self._strict(data) if self.mode == "strict" else self._lenient(data)
        self.used[index] = True
        self.position = max(self.position, index + 1) if self.mode == "lenient" else index + 1
        return self.exchanges[index]

    def _strict(self, data: bytes) -> int:
        if self.position < len(self.exchanges):
            expected = self.exchanges[self.position].write
            if expected == data:
                return self.position
            raise self._mismatch(data, expected, self.position)
        raise self._mismatch(data, None, self.position)

    def _lenient(self, data: bytes) -> int:
        order = [*range(self.position, len(self.exchanges)), *range(self.position)]
        for index in order:
            if not self.used[index] and self.exchanges[index].write == data:
                return index
        for index in reversed(range(len(self.exchanges))):
            if self.exchanges[index].write == data:
                return index
        raise self._mismatch(data, None, self.position, lenient=True)

    def _mismatch(
        self, data: bytes, expected: bytes | None, index: int, lenient: bool = False
    ) -> ReplayMismatch:
        name = self.recording.path
        if lenient:
            message = (
                f"{data!r} was never sent in the recording {name}; lenient replay answers "
                "only commands the recording has. Re-record the session with the new command"
            )
        elif expected is None:
            message = (
                f"the recording {name} ends after {len(self.exchanges)} exchanges, but the "
                f"program wrote {data!r}. Re-record the session, or check that the script "
                "is the one that was recorded"
            )
        else:
            line = self.exchanges[index].line
            where = f"exchange {index + 1}" + (f" (line {line})" if line else "")
            message = (
                f"the program differs from the recording {name} at {where}:\n"
                f"{side_by_side(expected, data)}\n"
                "Re-record the session if the driver changed on purpose; replay with "
                "mode=lenient if only the order of queries changed"
            )
        mismatch = ReplayMismatch(
            message,
            expected=expected,
            actual=data,
            instrument=self.recording.name,
            command=_command(data),
        )
        self.mismatches.append(mismatch)
        return mismatch

    def unused(self) -> list[tuple[int, Exchange]]:
        """Exchanges (1-based number, exchange) no write has used."""
        return [(i + 1, e) for i, e in enumerate(self.exchanges) if not self.used[i]]

    def describe_unused(self, limit: int = 5) -> str:
        unused = self.unused()
        shown = ", ".join(
            f"{number}" + (f" (line {e.line})" if e.line else "") + f" {e.write!r}"
            for number, e in unused[:limit]
        )
        more = f" and {len(unused) - limit} more" if len(unused) > limit else ""
        return f"recorded exchanges never used ({len(unused)}): {shown}{more}"
