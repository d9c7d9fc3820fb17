"""Turn a recording into a pyvisa-sim device file (decision 0902).

What pyvisa-sim 0.7 can serve becomes YAML: the IDN, each distinct query with its
recorded reply as a dialogue, each write-only command as a dialogue without reply, a
setting written `X value` and read `X?` as a property (getter, setter, the recorded
values), the error queue, the terminators. What it cannot serve is listed in the file's
opening comment and left to replay: binary replies (pyvisa-sim sends text only), messages
without the write terminator (ENQ/ACK handshakes, binary frames), and the later replies
of a query that answered differently each time (a dialogue has one reply).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import yaml

from instrumentkit.record._format import Recording, _is_text

__all__ = ["SIM_RESOURCES", "to_sim"]

SIM_RESOURCES = {"visa": "TCPIP0::127.0.0.1::inst0::INSTR", "serial": "ASRL1::INSTR"}
"""The resource the device is listed under: serial recordings as ASRL, others as TCPIP."""
_INTERFACES = ("TCPIP INSTR", "TCPIP SOCKET", "USB INSTR", "GPIB INSTR", "ASRL INSTR")
_ERROR_QUERY = re.compile(r"^:?SYST(EM)?:ERR(OR)?(:NEXT)?\?$", re.IGNORECASE)
_NUMBER_FORMATS = ("{:+.%dE}", "{:.%dE}", "{:+.%de}", "{:.%de}", "{:+.%df}", "{:.%df}")


@dataclass
class _Setting:
    """A command written `header value` and read `header?`."""

    header: str
    sets: list[str] = field(default_factory=list)
    pairs: list[tuple[str | None, str]] = field(default_factory=list)
    """(the last value set or None, the reply read) for each read."""


@dataclass
class _Survey:
    """Everything the recording says, sorted into what pyvisa-sim can and cannot serve."""

    queries: dict[str, list[str]] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    settings: dict[str, _Setting] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)


class _Dumper(yaml.SafeDumper):
    """Terminators and control characters as double-quoted escapes, on one line."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = None if value.isprintable() else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _number_format(replies: list[str]) -> str | None:
    """A `str.format` spec that writes every reply back exactly from its float value."""
    first = replies[0]
    digits = re.search(r"\.(\d+)", first)
    precisions = [len(digits.group(1))] if digits else [0]
    for template in _NUMBER_FORMATS:
        for precision in precisions:
            spec = template % precision
            if all(spec.format(float(reply)) == reply for reply in replies):
                return spec
    if all("{}".format(float(reply)) == reply for reply in replies):  # noqa: UP032
        return "{}"
    return None


def _survey(recording: Recording, write_term: bytes, read_term: bytes) -> _Survey:
    survey = _Survey()
    current: dict[str, str | None] = {}
    for number, exchange in enumerate(recording.exchanges, 1):
        write, reply = exchange.write, exchange.reply
        where = f"exchange {number}" + (f" (line {exchange.line})" if exchange.line else "")
        if write is None:
            survey.left.append(f"{where}: {len(reply)} bytes sent unasked")
            continue
        if not (write_term and _is_text(write) and write.endswith(write_term)):
            survey.left.append(f"{where}: write {write[:24]!r} (no write terminator or binary)")
            continue
        command = write[: -len(write_term)].decode("ascii").strip()
        if not reply:
            header, _, value = command.partition(" ")
            if value:
                current[header] = value
                survey.settings.setdefault(header, _Setting(header)).sets.append(value)
            survey.commands.append(command)
            continue
        body = reply[: -len(read_term)] if reply.endswith(read_term) else None
        if body is None or not _is_text(body) or read_term in body:
            survey.left.append(f"{where}: {command!r} answered {len(reply)} bytes, not one text")
            continue
        text = body.decode("ascii").strip()
        survey.queries.setdefault(command, []).append(text)
        if command.endswith("?"):
            header = command[:-1]
            survey.settings.setdefault(header, _Setting(header)).pairs.append(
                (current.get(header), text)
            )
    # A setting is a pair: written with a value and read back.
    survey.settings = {h: s for h, s in survey.settings.items() if s.sets and s.pairs}
    return survey


def _property(setting: _Setting) -> tuple[dict[str, object], str]:
    """The pyvisa-sim property for a setting, and a note of its recorded values."""
    replies = [reply for _, reply in setting.pairs]
    initial = next((reply for value, reply in setting.pairs if value is None), None)
    after_set = [(value, reply) for value, reply in setting.pairs if value is not None]
    numbers = all(_float(v) is not None for v in setting.sets + replies)
    spec = _number_format(replies) if numbers else None
    values = ", ".join(dict.fromkeys(setting.sets))
    getter = {"q": f"{setting.header}?", "r": "{}"}
    setter = {"q": f"{setting.header} {{}}"}
    if spec is not None and all(float(v) == float(r) for v, r in after_set):
        default: object = float(initial if initial is not None else setting.sets[0])
        getter["r"] = spec
        kind = "float"
        note = f"{setting.header}: set {values}"
    else:
        default = initial if initial is not None else setting.sets[0]
        kind = "str"
        differ = sorted({f"{v} -> {r}" for v, r in after_set if v != r})
        note = f"{setting.header}: set {values}" + (
            f"; answers what was set, the instrument answered {', '.join(differ)}" if differ else ""
        )
    entry = {"default": default, "getter": getter, "setter": setter, "specs": {"type": kind}}
    return entry, note


def _property_name(header: str, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_") or "setting"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _error_queue(command: str, replies: list[str]) -> dict[str, str]:
    """The queue answers its "no error" reply; a refused command queues the error seen."""
    fallback = Counter(replies).most_common(1)[0][0]
    no_error = next((r for r in replies if re.match(r"^[+]?0\b", r)), fallback)
    error = next((r for r in replies if r != no_error), '-113,"Undefined header"')
    return {"q": command, "default": no_error, "command_error": error}


def _device(survey: _Survey, idn: object, eom: dict[str, str], notes: list[str]) -> dict[str, Any]:
    """The pyvisa-sim device; what it cannot answer as recorded is added to `notes`."""
    error_queue = []
    dialogues: list[dict[str, str]] = []
    if idn and "*IDN?" not in survey.queries:
        dialogues.append({"q": "*IDN?", "r": str(idn)})
    getters = {f"{header}?" for header in survey.settings}
    for command, replies in survey.queries.items():
        if command in getters:
            continue
        if _ERROR_QUERY.match(command):
            error_queue.append(_error_queue(command, replies))
            continue
        dialogues.append({"q": command, "r": replies[0]})
        if len(set(replies)) > 1:
            notes.append(
                f"{command!r} answered {len(set(replies))} different replies; "
                "this file gives the first"
            )
    for command in dict.fromkeys(survey.commands):
        header, _, value = command.partition(" ")
        if header not in survey.settings or not value:
            dialogues.append({"q": command})
    device: dict[str, Any] = {
        "delimiter": "",  # recorded messages are matched whole, `;` included
        "eom": {interface: dict(eom) for interface in _INTERFACES},
    }
    if error_queue:
        device["error"] = {"error_queue": error_queue}
    device["dialogues"] = dialogues
    taken: set[str] = set()
    properties = {}
    for header, setting in survey.settings.items():
        properties[_property_name(header, taken)], note = _property(setting)
        notes.append(note)
    if properties:
        device["properties"] = properties
    return device


def to_sim(recording: Recording, *, source: str = "") -> str:
    """The pyvisa-sim YAML (spec 1.1) of `recording`, with its notes as comments."""
    connection = recording.connection
    eom = {
        "q": str(connection.get("write_termination", "\n")),
        "r": str(connection.get("read_termination", "\n")),
    }
    survey = _survey(recording, eom["q"].encode("latin-1"), eom["r"].encode("latin-1"))
    notes: list[str] = []
    device = _device(survey, recording.header.get("idn"), eom, notes)
    resource = SIM_RESOURCES["serial" if "baudrate" in connection else "visa"]
    document = {
        "spec": "1.1",
        "devices": {"recorded": device},
        "resources": {resource: {"device": "recorded"}},
    }
    header = recording.header
    lines = [
        "pyvisa-sim device written by `instrumentkit record to-sim`",
        f"from {source or recording.path}, recorded {header.get('recorded', '?')}",
        f"on {header.get('resource')} with {header.get('driver')}.",
        'Plain pyvisa: pyvisa.ResourceManager("<this file>@sim").open_resource(',
        f'  "{resource}", write_termination={eom["q"]!r}, read_termination={eom["r"]!r})',
    ]
    if notes:
        lines.append("Settings (X value / X?) with the values set, and queries:")
        lines.extend(f"  {note}" for note in notes)
    if survey.left:
        lines.append("Left to replay (pyvisa-sim cannot serve them; use replay://):")
        lines.extend(f"  {item}" for item in survey.left)
    comments = "".join(f"# {line}\n" for line in lines)
    return comments + yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=False
    )
