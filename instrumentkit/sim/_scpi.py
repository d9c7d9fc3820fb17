"""`ScpiDevice`: a SCPI instrument model from a command table, with the IEEE 488.2 basics built in.

class Dmm(ScpiDevice):
    idn = "Acme,DMM1,0001,1.0"
    range = Setting("[:SENSe]:VOLTage[:DC]:RANGe", 10.0, limits=(0.1, 1000.0))

    @command("READ?")
    def read(self) -> str:
        return f"{self.rng.normal(1.0, 1e-4):+.9E}"
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from operator import methodcaller
from typing import Any, TypeVar

from instrumentkit.sim._device import Device
from instrumentkit.sim._scpi_syntax import (
    HeaderPattern,
    find_message_end,
    normalized,
    split_message,
    split_params,
)
from instrumentkit.sim._settings import STANDARD_ERRORS, ScpiError, Setting, SettingValues

__all__ = ["Reply", "ScpiDevice", "command"]

log = logging.getLogger("instrumentkit.sim")

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")
Handler = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's reply that leaves late: `delay` seconds from now, or at clock time `at`."""

    data: str | bytes
    delay: float = 0.0
    at: float | None = None


def command(*patterns: str) -> Callable[[F], F]:
    """Mark a method as the handler of SCPI `patterns` (a trailing `?` makes it a query).

    The method receives the parameters as strings and the numeric suffixes by name
    (`CHANnel<n>:DATA?` -> `n=2`); it returns the reply (str, bytes, `Reply`) or None.
    """

    def mark(method: F) -> F:
        method.__dict__.setdefault("_scpi_patterns", []).extend(patterns)
        return method

    return mark


@dataclass(frozen=True, slots=True)
class _Entry:
    pattern: HeaderPattern
    target: str | Setting[Any] | Handler
    """A method name, a Setting, or a callable added with `add_command`."""


@dataclass(frozen=True, slots=True)
class _Step:
    """One unit of a message, resolved: what runs it and with which arguments."""

    header: str
    run: Callable[..., Any]
    """Called with the device if `with_device`, else with nothing."""
    with_device: bool
    index: int
    """Position of the unit in the message."""
    path: str
    """The relative-header path after this unit, for the units that follow."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """A message parsed once: its units, their steps, and whether an unknown header ends it."""

    units: tuple[tuple[str, str], ...]
    steps: tuple[_Step, ...]
    undefined: bool
    """The unit after the last step names no command (error -113)."""


_PLANS = 256
"""Parsed messages kept per device; the cache is emptied when full."""
_PLAN_MAX_BYTES = 1024
"""Longer messages (block uploads) are parsed every time rather than kept."""


_ESR_BITS = ((-100, 32), (-200, 16), (-300, 8), (-400, 4))
# Instance attributes of the kit; a Setting of the same name would hijack them.
_RESERVED = frozenset(
    (
        "clock", "rng", "latency", "outbox", "faults", "lock", "current_message",
        "line_settings", "errors", "esr", "busy_until", "max_errors", "idn",
    )
)  # fmt: skip


class ScpiDevice(Device):
    """A SCPI device: command table, settings, error queue, `*IDN?`, `*RST`, `*OPC?`, ..."""

    idn = "instrumentkit,Simulated SCPI device,0,0.1"
    max_errors = 20

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        clashes = sorted(
            n for n, m in vars(cls).items() if isinstance(m, Setting) and n in _RESERVED
        )
        if clashes:
            raise TypeError(f"{cls.__name__}: Setting names {clashes} are used by the kit; rename")

    def __init__(self, **options: Any) -> None:
        self.__dict__["_setting_values"] = SettingValues()
        self._memos: dict[Hashable, tuple[int, Any]] = {}
        super().__init__(**options)
        self.errors: deque[tuple[int, str]] = deque()
        self.esr = 0
        self.busy_until = -math.inf
        self._extra: list[_Entry] = []
        self._found: dict[tuple[str, bool], tuple[_Entry, dict[str, int]] | None] = {}
        # Messages repeat (a driver's fetch sends the same compound query every time):
        # parse each once per command table. `_table_version` tells a table change apart.
        self._plans: dict[bytes, _Plan] = {}
        self._table_version = 0
        # Models rely on this: reset() sets up their own state too. Attributes a model's
        # reset() needs are set before it calls super().__init__().
        self.reset()

    # -- the table
    @classmethod
    def _class_entries(cls) -> list[_Entry]:
        if "_entries" not in cls.__dict__:
            by_text: dict[str, _Entry] = {}
            for klass in reversed(cls.__mro__):
                for name, member in vars(klass).items():
                    if isinstance(member, Setting):
                        for pattern in (member.set_pattern, member.query_pattern):
                            by_text[pattern.text.upper()] = _Entry(pattern, member)
                    for text in getattr(member, "_scpi_patterns", ()):
                        by_text[text.upper()] = _Entry(HeaderPattern.compile(text), name)
            # Subclass patterns were added last: try them first.
            cls._entries = list(reversed(by_text.values()))
        return cls._entries  # type: ignore[no-any-return]

    @classmethod
    def settings(cls) -> dict[str, Setting[Any]]:
        """Every declared Setting by attribute name."""
        found: dict[str, Setting[Any]] = {}
        for klass in reversed(cls.__mro__):
            found.update({n: m for n, m in vars(klass).items() if isinstance(m, Setting)})
        return found

    def add_command(self, pattern: str, handler: Handler) -> None:
        """Add a handler to this instance's table (ahead of the class's own)."""
        self._extra.insert(0, _Entry(HeaderPattern.compile(pattern), handler))
        self._found.clear()
        self._plans.clear()
        self._table_version += 1

    def _lookup(self, header: str, query: bool) -> tuple[_Entry, dict[str, int]] | None:
        key = (header.upper(), query)
        if key not in self._found:
            self._found[key] = None
            for entry in (*self._extra, *self._class_entries()):
                suffixes = entry.pattern.match(header, query)
                if suffixes is not None:
                    self._found[key] = (entry, suffixes)
                    break
        return self._found[key]

    def command_matches(self, pattern: str, command: str) -> bool:
        """Whether a unit of `command` is the table entry `pattern` names (any spelling).

        `on=":WAV:DATA?"` matches `:WAVeform:DATA?` and `:wav:data?`; a pattern without
        `?` matches both the setting and its query.
        """
        wanted_query = pattern.rstrip().endswith("?")
        bare_pattern = pattern.strip().rstrip("?")
        queries = (True,) if wanted_query else (False, True)
        targets = [self._lookup(bare_pattern, q) for q in queries]
        entries = [t[0].target for t in targets if t is not None]
        compiled = HeaderPattern.compile(bare_pattern)
        for header, _ in split_message(command):
            query = header.endswith("?")
            bare = header.rstrip("?")
            if wanted_query and not query:
                continue
            found = self._lookup(bare, query)
            if found is not None and found[0].target in entries:
                return True
            if compiled.regex.fullmatch(normalized(bare)):
                return True
        return False

    # -- messages
    def find_message_end(self, buffer: bytearray) -> int:
        # Quoted strings and definite blocks may hold the terminator byte.
        return find_message_end(buffer, self.message_end)

    def handle(self, message: bytes) -> None:
        plan = self._plans.get(message)
        if plan is None:
            plan = self._plan(message)
        replies: list[bytes] = []
        delay = 0.0
        at: float | None = None
        steps, undefined = plan.steps, plan.undefined
        version = self._table_version
        position = 0
        while position < len(steps):
            step = steps[position]
            position += 1
            try:
                result = step.run(self) if step.with_device else step.run()
            except ScpiError as error:
                self.report_error(error.code, error.message)
                undefined = False
                break
            except Exception as error:  # a model bug must not kill the server thread
                log.exception("%s failed on %r", type(self).__name__, step.header)
                self.report_error(-300, f"Device-specific error; {type(error).__name__}")
                undefined = False
                break
            if isinstance(result, Reply):
                delay = max(delay, result.delay)
                at = result.at if at is None or result.at is None else max(at, result.at)
                result = result.data
            if result is not None:
                if replies:
                    replies.append(b";")
                replies.append(result.encode("latin-1") if isinstance(result, str) else result)
            if self._table_version != version:  # a handler added commands: resolve the rest anew
                version = self._table_version
                steps, undefined = self._resolve(plan.units, step.index + 1, step.path)
                position = 0
        if undefined:
            self.report_error(-113, STANDARD_ERRORS[-113])
        if replies:
            replies.append(self.reply_end)
            self.send(b"".join(replies), delay=delay, at=at)

    def _plan(self, message: bytes) -> _Plan:
        """Parse `message` and keep the result for the next time it arrives."""
        units = tuple(split_message(message.decode("latin-1")))
        steps, undefined = self._resolve(units, 0, "")
        plan = _Plan(units, tuple(steps), undefined)
        if len(message) <= _PLAN_MAX_BYTES:
            if len(self._plans) >= _PLANS:
                self._plans.clear()
            self._plans[bytes(message)] = plan
        return plan

    def _resolve(
        self, units: tuple[tuple[str, str], ...], start: int, path: str
    ) -> tuple[tuple[_Step, ...], bool]:
        """Steps for `units[start:]` under relative `path`, up to the first unknown header."""
        steps: list[_Step] = []
        for index in range(start, len(units)):
            header, params = units[index]
            query = header.endswith("?")
            bare = header.rstrip("?")
            relative = bool(path) and not bare.startswith((":", "*"))
            found = self._lookup(f"{path}:{bare}", query) if relative else None
            if found is None:
                found = self._lookup(bare, query)
            elif relative:
                bare = f"{path}:{bare}"
            if found is None:
                return tuple(steps), True
            if not bare.startswith("*"):
                path = normalized(bare).rsplit(":", 1)[0]
            entry, suffixes = found
            arguments = tuple(split_params(params))
            target = entry.target
            # Methods are looked up on the device when run, as a patched class expects.
            run: Callable[..., Any]
            if isinstance(target, Setting):
                run = methodcaller("_run_setting", target, arguments, suffixes, query)
            elif isinstance(target, str):
                run = methodcaller(target, *arguments, **suffixes)
            else:
                run = partial(target, *arguments, **suffixes)
            with_device = not isinstance(run, partial)
            steps.append(_Step(header, run, with_device, index, path))
        return tuple(steps), False

    def _run_setting(
        self,
        setting: Setting[Any],
        params: tuple[str, ...],
        suffixes: dict[str, int],
        query: bool,
    ) -> str | None:
        values = self._setting_values
        key: int | None = None
        if setting.channels is not None:
            key = next(iter(suffixes.values()))
            if key not in setting.channels:
                raise ScpiError(-114)
        if query:
            if params:
                raise ScpiError(-108)
            value = values[setting.name] if key is None else values[setting.name][key]
            return setting.format(value)
        if not params:
            raise ScpiError(-109)
        if len(params) > 1:
            raise ScpiError(-108)
        value = setting.parse(params[0])
        if key is None:
            values[setting.name] = value
        else:
            values[setting.name][key] = value
        return None

    # -- state
    def reset(self) -> None:
        """Restore every Setting's default and end pending operations (`*RST`).

        The constructor calls it too. Override it to (re)initialise a model's own state,
        calling `super().reset()` first.
        """
        initial = ((n, s.initial()) for n, s in self.settings().items())
        self.__dict__["_setting_values"] = SettingValues(initial)
        self.busy_until = -math.inf

    @property
    def settings_version(self) -> int:
        """Changes whenever any Setting's value does (by the host, model code or `*RST`)."""
        return self._setting_values.version  # type: ignore[no-any-return]

    def per_settings(self, key: Hashable, compute: Callable[[], R]) -> R:
        """`compute()`, reused until a Setting changes: for answers made of settings only.

        `key` names the answer (and holds anything else it depends on, like a channel).
        """
        version = self._setting_values.version
        kept = self._memos.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]  # type: ignore[no-any-return]
        value = compute()
        self._memos[key] = (version, value)
        return value

    def start_operation(self, seconds: float) -> float:
        """Begin an operation taking `seconds` (after any pending one); its end on the clock."""
        self.busy_until = max(self.busy_until, self.clock.now()) + seconds
        return self.busy_until

    @property
    def operation_complete(self) -> bool:
        return self.clock.now() >= self.busy_until

    def report_error(self, code: int, message: str) -> None:
        """Queue an error as the instrument would, and set its event status bit."""
        if len(self.errors) >= self.max_errors:
            self.errors[-1] = (-350, STANDARD_ERRORS[-350])
        else:
            self.errors.append((code, message))
        for floor, bit in _ESR_BITS:
            if floor - 99 <= code <= floor:
                self.esr |= bit

    # -- IEEE 488.2 common commands and the SCPI error queue
    @command("*IDN?")
    def _idn(self) -> str:
        return self.idn

    @command("*RST")
    def _rst(self) -> None:
        self.reset()

    @command("*CLS")
    def _cls(self) -> None:
        self.errors.clear()
        self.esr = 0

    @command("*OPC?")
    def _opc_query(self) -> Reply:
        return Reply("1", at=self.busy_until)

    @command("*OPC")
    def _opc(self) -> None:
        self.esr |= 1

    @command("*WAI")
    def _wai(self) -> None:
        self.hold_replies_until(self.busy_until)

    @command("*ESR?")
    def _esr(self) -> str:
        value, self.esr = self.esr, 0
        return str(value)

    @command("*STB?")
    def _stb(self) -> str:
        return str((4 if self.errors else 0) | (32 if self.esr else 0))

    @command("*TST?")
    def _tst(self) -> str:
        return "0"

    @command("SYSTem:ERRor[:NEXT]?")
    def _next_error(self) -> str:
        code, message = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code:+d},"{message}"'

    @command("SYSTem:ERRor:COUNt?")
    def _error_count(self) -> str:
        return str(len(self.errors))
