"""Instrument and Channel: the classes every driver derives from.

An instrument owns a session; a channel shares its parent's session and fills `{ch}`
in its parameters' commands. Opening is explicit: `Driver(transport)`,
`Driver.open(resource)` or `Driver.open_sim()`. No global registry of names.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar, overload

from typing_extensions import Self, Unpack

from instrumentkit.connect import ConnectionOptions, open_transport
from instrumentkit.errors import ValidationError
from instrumentkit.parameters import Parameter
from instrumentkit.session import Session
from instrumentkit.transport import Transport

__all__ = ["Channel", "ChannelGroup", "Component", "Instrument"]

C = TypeVar("C", bound="Channel")


class Component:
    """What parameters need from their owner: a session, a name, command fields."""

    session: Session
    name: str
    fields: Mapping[str, Any] = {}
    check_errors_after_set: ClassVar[bool] = False

    @classmethod
    def parameters(cls) -> dict[str, Parameter[Any]]:
        """Every parameter declared on the class and its bases, by name."""
        cached = cls.__dict__.get("_parameters_cache")
        if cached is None:
            cached = {}
            for klass in reversed(cls.__mro__):
                for attr, value in vars(klass).items():
                    if isinstance(value, Parameter):
                        cached[attr] = value
            cls._parameters_cache = cached  # type: ignore[attr-defined]
        return cached  # type: ignore[no-any-return]

    @classmethod
    def channel_groups(cls) -> dict[str, ChannelGroup[Any]]:
        groups: dict[str, ChannelGroup[Any]] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, ChannelGroup):
                    groups[attr] = value
        return groups

    def raise_instrument_errors(self, command: str | None = None) -> None:
        """Raise the instrument's queued errors; plain instruments have none to ask for."""

    def write(self, command: str) -> None:
        self.session.write(command.format(**self.fields) if self.fields else command)

    def query(self, command: str) -> str:
        return self.session.query(command.format(**self.fields) if self.fields else command)

    def snapshot(self) -> dict[str, Any]:
        """Every parameter's value and units, and every channel's, as plain data."""
        state: dict[str, Any] = {
            name: parameter.snapshot_entry(self)
            for name, parameter in self.parameters().items()
            if parameter.in_snapshot and parameter.get_command is not None
        }
        for group_name, group in self.channel_groups().items():
            channels = group.__get__(self, type(self))
            state[group_name] = {str(key): channel.snapshot() for key, channel in channels.items()}
        return _plain(state)


def _plain(value: Any) -> Any:
    """Make a snapshot JSON-serialisable (enums, NumPy scalars, tuples)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


class Instrument(Component):
    """Base class of every driver.

    Class attributes describe how to talk to the instrument; drivers override them.
    """

    write_termination: ClassVar[str] = "\n"
    read_termination: ClassVar[str] = "\n"
    encoding: ClassVar[str] = "ascii"
    default_timeout: ClassVar[float] = 5.0
    idn_patterns: ClassVar[tuple[str, ...]] = ()
    """Regular expressions matched against the `*IDN?` reply to pick this driver."""
    sim_file: ClassVar[str | None] = None
    """pyvisa-sim YAML beside the driver module, e.g. "sim/34461a.yaml".

    Plain pyvisa opens it with the file's terminators, or every query times out:
    `pyvisa.ResourceManager(f"{path}@sim").open_resource("TCPIP0::127.0.0.1::inst0::INSTR",
    read_termination="\\n", write_termination="\\n")`; `instrumentkit.simfiles.plain_pyvisa`
    gives the call for each file and resource (docs/simulation.md lists them).
    """
    sim_resource: ClassVar[str] = ""
    """The resource of this driver's device in its sim file."""
    sim_model: ClassVar[str | None] = None
    """The simulated lab's model of this instrument (`instrumentkit.sim.models()` name)."""
    connection_defaults: ClassVar[ConnectionOptions] = {}
    """Options the instrument needs by default (baud rate, framing, timeout)."""
    interfaces: ClassVar[tuple[type, ...]] = ()
    """The interfaces (Oscilloscope, Spectrometer, Sensor) the driver claims to satisfy."""
    sync_query: ClassVar[tuple[str, str] | None] = None
    """A query and its exact reply that prove the instrument is back in step after a
    failed exchange (`*OPC?` and `1` for IEEE 488.2); None: the drain alone."""

    def __init__(
        self, connection: Transport | Session, *, name: str | None = None, log_io: bool = False
    ) -> None:
        if isinstance(connection, Session):
            self.session = connection
            if name:
                self.session.name = name
        else:
            self.session = Session(
                connection,
                name=name,
                write_termination=self.write_termination,
                read_termination=self.read_termination,
                encoding=self.encoding,
                log_io=log_io,
            )
        self.name = self.session.name
        self.session.on_resync = self._resync

    # -- getting back in step (decision 0009)
    def resync(self) -> None:
        """Get back in step after a timeout or a malformed reply: drain, device clear,
        sync, re-read what the driver caches. The session does this by itself before
        the next exchange; call it to do it now."""
        self.session.resync()

    def _resync(self) -> None:
        if self.sync_query is not None:
            self.session.sync(*self.sync_query)
        self._after_resync()

    def _after_resync(self) -> None:
        """Forget or re-read what the driver caches about the instrument's state (its
        settings may have changed, or been set by a command whose reply was lost)."""

    @classmethod
    def open(
        cls, resource: str, *, name: str | None = None, **options: Unpack[ConnectionOptions]
    ) -> Self:
        """Open `resource` (VISA address, serial port or URL) with this driver."""
        merged: dict[str, Any] = {"timeout": cls.default_timeout, **cls.connection_defaults}
        merged.update(options)
        transport = open_transport(resource, **merged)  # type: ignore[arg-type]
        try:
            return cls(transport, name=name)
        except BaseException:
            transport.close()
            raise

    @classmethod
    def open_sim(cls, *, name: str | None = None, fresh: bool = True) -> Self:
        """Open this driver on its simulation: the pyvisa-sim YAML shipped beside it or,
        for drivers pyvisa-sim cannot model (binary protocols), a fresh instance of its
        simulated-lab model over an `iksim://` link.

        `fresh` gives the pyvisa-sim device its initial state again (pyvisa-sim keeps
        one state per YAML file for the whole process).
        """
        label = name or f"{cls.__name__}(sim)"
        if cls.sim_file is None and cls.sim_model is not None:
            return cls.open(f"iksim://model/{cls.sim_model}", name=label)
        from instrumentkit.simfiles import sim_backend  # pyvisa-sim only when asked for

        backend = sim_backend(cls, fresh=fresh)
        return cls.open(cls.sim_resource, name=label, backend=backend)

    @property
    def driver(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class Channel(Component):
    """One channel of an instrument: parameters here fill `{ch}` with the channel id."""

    def __init__(self, parent: Instrument, channel_id: int | str) -> None:
        self.parent = parent
        self.id = channel_id
        self.session = parent.session
        self.name = f"{parent.name} channel {channel_id}"
        self.fields = {"ch": channel_id}

    @property
    def check_errors_after_set(self) -> bool:  # type: ignore[override]
        return self.parent.check_errors_after_set

    def raise_instrument_errors(self, command: str | None = None) -> None:
        self.parent.raise_instrument_errors(command)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r} of {self.parent.name!r}>"


class ChannelGroup(Generic[C]):
    """Declares an instrument's channels: `channels = ChannelGroup(ScopeChannel, (1, 2, 3, 4))`.

    On an instance it is a read-only mapping from id to channel; an unknown id raises
    ValidationError listing the valid ones (`in` and `.get()` answer False and None).
    """

    def __init__(self, channel_class: type[C], ids: tuple[int | str, ...]) -> None:
        self.channel_class = channel_class
        self.ids = ids
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> ChannelGroup[C]: ...
    @overload
    def __get__(self, obj: Component, owner: type) -> Channels[C]: ...
    def __get__(self, obj: Component | None, owner: type) -> ChannelGroup[C] | Channels[C]:
        if obj is None:
            return self
        cache = obj.__dict__.get(self.name)
        if cache is None:
            if not isinstance(obj, Instrument):
                raise TypeError("channel groups belong on instruments")
            channels = {i: self.channel_class(obj, i) for i in self.ids}
            cache = Channels(channels, obj.name, self.name)
            obj.__dict__[self.name] = cache
        return cache  # type: ignore[no-any-return]


class Channels(Mapping[Any, C]):
    def __init__(self, channels: dict[Any, C], owner: str, group: str = "channels") -> None:
        self._channels = channels
        self._owner = owner
        self._group = group

    def __getitem__(self, key: Any) -> C:
        channel = self.get(key)
        if channel is None:
            raise ValidationError(
                f"no {self._group}[{key!r}]: valid ids are {list(self._channels)}",
                instrument=self._owner,
            )
        return channel

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self._channels.get(key, default)
        except TypeError:  # an unhashable key names no channel
            return default

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._channels)

    def __len__(self) -> int:
        return len(self._channels)
