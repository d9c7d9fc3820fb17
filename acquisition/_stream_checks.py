"""Checks of one stream of a run config against its kind and its driver (decision 0603).

A field the stream's kind does not use is refused rather than ignored (`batch:` on a
scope), scope channels must be channels the driver has, and no two config streams may
write the same stream of the file (`scope` with channel 1 writes `scope_ch1`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from instrumentkit.instrument import Instrument

from ._config import StreamConfig
from ._sources import channel_label

if TYPE_CHECKING:
    from ._plan import Plan

__all__ = [
    "channel_id",
    "check_kind_fields",
    "check_written_names",
    "scope_channel",
    "scope_channels",
]


_KIND_FIELDS = {
    "batch": ("readings",),
    "channels": ("waveforms",),
    "timeout": ("waveforms",),
    "settle": ("sweep",),
    "units": ("sweep",),
}
"""Stream fields that only some kinds use: anywhere else they would be silently ignored."""


def check_kind_fields(
    plan: Plan, name: str, stream: StreamConfig, cls: type[Instrument] | None, kind: str | None
) -> None:
    """Fields of another kind are refused, not ignored; channels are the driver's own."""
    if kind is None:
        return  # known once the instrument has answered *IDN?
    given = stream.model_fields_set
    for field, applies in _KIND_FIELDS.items():
        if field in given and kind not in applies:
            raise plan.error(
                f"streams.{name}.{field}",
                f"{field} applies to {' and '.join(applies)} streams, not {kind}",
            )
    ids = scope_channels(cls)
    for index, channel in enumerate(stream.channels or []):
        if ids and scope_channel(ids, channel) is None:
            raise plan.error(
                f"streams.{name}.channels[{index}]",
                f"{cls.__name__ if cls else stream.instrument} has no channel {channel!r}; "
                f"channels: {', '.join(map(str, ids))}",
            )


def check_written_names(
    plan: Plan, name: str, stream: StreamConfig, kind: str | None, written: dict[str, str]
) -> None:
    """Each stream of the file is written by one config stream (`scope` writes `scope_ch1`)."""
    if kind == "waveforms" or stream.channels is not None:
        names = [f"{name}_{channel_label(c)}" for c in stream.channels or [1]]
    else:
        names = [name]
    for index, stream_name in enumerate(names):
        if stream_name in written:
            other = written[stream_name]
            field = f"streams.{name}.channels[{index}]" if other == name else f"streams.{name}"
            raise plan.error(
                field,
                f"writes stream {stream_name!r}, which stream {other!r} also writes; "
                + ("list each channel once" if other == name else "rename one of them"),
            )
        written[stream_name] = name


def scope_channels(cls: type[Instrument] | None) -> tuple[int | str, ...]:
    """The channels a scope driver fetches: its `analog_channels`, else its `channels` group."""
    declared = getattr(cls, "analog_channels", None)
    if isinstance(declared, tuple) and declared:
        return declared
    group = cls.channel_groups().get("channels") if cls is not None else None
    return tuple(group.ids) if group is not None else ()


_CHANNEL_NAME = re.compile(r"^\s*(?:CH|CHAN|CHANNEL)?\s*(\d+)\s*$", re.IGNORECASE)


def scope_channel(ids: tuple[int | str, ...], key: int | str) -> int | str | None:
    """The channel `key` names (`1`, `"CH1"`, `"CHAN1"`, `"channel1"`), or None."""
    found = channel_id(ids, key)
    if found is None and isinstance(key, str) and (number := _CHANNEL_NAME.match(key)):
        found = channel_id(ids, number.group(1))
    return found


def channel_id(ids: tuple[int | str, ...], key: Any) -> int | str | None:
    """The id in `ids` that `key` spells, ignoring case and int/str (`1` and `"1"`)."""
    for channel in ids:
        if str(channel).casefold() == str(key).casefold():
            return channel
    return None
