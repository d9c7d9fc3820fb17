"""The loader of every YAML file a user writes (run configs, lab files, line-sensor configs)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from instrumentkit._yaml import MAX_NODES, load_yaml, read_user_text
from instrumentkit.drivers.generic.line_sensor_config import load_config
from instrumentkit.errors import ConfigError
from instrumentkit.sim import load_lab


def value(text: str) -> Any:
    return load_yaml(f"v: {text}", source="test.yaml")["v"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5e-4", 5e-4), ("1e1", 10.0), ("-1E-3", -1e-3), ("+2.5e+2", 250.0), ("1.0e5", 1e5),
        ("5.e-3", 5e-3), (".5", 0.5), ("-.5", -0.5), ("1.", 1.0), ("1_000.5", 1000.5),
        ("1:30.5", 90.5),
    ],
)  # fmt: skip
def test_numbers_as_physicists_write_them_are_floats(text: str, expected: float) -> None:
    loaded = value(text)
    assert type(loaded) is float
    assert loaded == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10", 10), ("-3", -3), ("0x1F", 31), ("yes", True), ("~", None), ("1e", "1e"),
     ("e5", "e5"), ("'5e-4'", "5e-4"), ("1.2.3", "1.2.3"), ("5e-4 V", "5e-4 V"), (".", "."),
     ("-.", "-."), ("+._", "+._"), ("1e-", "1e-")],
)  # fmt: skip
def test_other_scalars_keep_their_yaml_types(text: str, expected: Any) -> None:
    loaded = value(text)
    assert type(loaded) is type(expected)
    assert loaded == expected


def test_infinities_and_nan_still_parse_so_the_schema_can_refuse_them() -> None:
    assert value(".inf") == math.inf
    assert value("-.Inf") == -math.inf
    assert math.isnan(value(".NaN"))


def test_dates_and_times_become_iso_8601_text() -> None:
    assert value("2024-01-01") == "2024-01-01"
    assert value("2024-01-02 09:30:00Z") == "2024-01-02T09:30:00+00:00"
    assert value("2024-01-02T09:30:00.5+02:00") == "2024-01-02T09:30:00.500000+02:00"


@pytest.mark.parametrize(
    ("text", "where", "key", "first"),
    [
        ("a: 1\nb: 2\na: 3\n", "(line 3, column 1)", "a", 1),
        ("s: {x: 1, y: 2, x: 3}\n", "(line 1, column 17)", "x", 1),
        ("l:\n  - {k: 1}\n  - k: 2\n    k: 2\n", "(line 4, column 5)", "k", 3),
        ("1: a\n'1': b\n1: c\n", "(line 3, column 1)", "1", 1),
    ],
)
def test_duplicate_keys_are_refused_naming_the_key_and_both_lines(
    text: str, where: str, key: str, first: int
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(text, source="run.yaml")
    assert str(caught.value) == (
        f"run.yaml: not valid YAML {where}: duplicate key {key!r} (first given on line {first}); "
        "YAML would keep only the last value"
    )


def test_equal_keys_in_different_mappings_and_merge_overrides_are_fine() -> None:
    data = load_yaml(
        "base: &base {x: 1, y: 2}\na: {x: 1}\nb: {x: 1}\nc:\n  <<: *base\n  x: 5\n",
        source="t",
    )
    assert data["c"] == {"x": 5, "y": 2}
    assert load_yaml("1: a\n'1': b\n", source="t") == {1: "a", "1": "b"}  # int and str keys


def test_aliases_within_the_cap_are_shared_data() -> None:
    data = load_yaml("a: &a [1, 2, 3]\nb: *a\nc: *a\n", source="t")
    assert data["b"] == data["c"] == [1, 2, 3]


def bomb(levels: int, width: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    start = time.process_time()
    with pytest.raises(ConfigError, match=r"expands to more than 1,000,000 values through its"):
        load_yaml(bomb(9), source="t")  # 9**10 values expanded
    assert time.process_time() - start < 5  # it never expands (37 s and 2.3 GB before)


def test_the_cap_counts_every_expanded_node_exactly() -> None:
    # width 10, 5 levels: 10**6 leaves plus the sequences holding them, over the cap;
    # 4 levels stays far under it.
    assert len(load_yaml(bomb(4, 10), source="t")["l4"]) == 10
    with pytest.raises(ConfigError, match="expands to more than"):
        load_yaml(bomb(5, 10), source="t")
    assert MAX_NODES == 1_000_000


def test_the_cap_error_names_where_the_expansion_went_over() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(bomb(5, 10), source="t")
    assert str(caught.value) == (
        "t: not valid YAML (line 6, column 5): the document expands to more than 1,000,000 "
        "values through its aliases (&anchor / *alias); write the data out or use fewer aliases"
    )


def exactly_max_nodes() -> str:
    """A document of exactly MAX_NODES nodes with every alias expanded.

    The root mapping (1), key a (1), a's sequence (1 + 997), key b (1), b's sequence (1 +
    1001 aliases of 998 nodes each): 4 + 998 * 1002 = 1,000,000.
    """
    return f"a: &a [{', '.join(['0'] * 997)}]\nb: [{', '.join(['*a'] * 1001)}]\n"


def test_a_document_of_exactly_the_cap_loads_and_one_node_more_is_refused() -> None:
    data = load_yaml(exactly_max_nodes(), source="t")
    assert len(data["b"]) == 1001
    assert data["b"][-1] == [0] * 997
    one_more = exactly_max_nodes().replace("*a]", "*a, 0]")  # a last scalar in b
    with pytest.raises(ConfigError, match="expands to more than 1,000,000 values"):
        load_yaml(one_more, source="t")
    # At the cap with the root's last key still to come: counting goes on past the cap.
    with pytest.raises(ConfigError, match="expands to more than 1,000,000 values"):
        load_yaml(exactly_max_nodes() + "c: 0\n", source="t")


def test_a_recursive_alias_is_refused_naming_where() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: &a [1, *a]\n", source="t")
    assert str(caught.value) == (
        "t: not valid YAML (line 1, column 4): "
        "an alias refers to a node that contains it (a recursive structure)"
    )


def test_syntax_errors_and_deep_nesting_are_one_line_config_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: [1\n", source="t")
    assert str(caught.value) == (
        "t: not valid YAML (line 2, column 1): expected ',' or ']', but got '<stream end>'"
    )
    with pytest.raises(ConfigError) as caught:
        load_yaml("[" * 5000 + "]" * 5000, source="t")
    assert str(caught.value) == "t: not valid YAML: nested too deeply"


def test_a_control_character_is_refused_without_a_position() -> None:
    # The reader's error carries no line/column mark: its own first line is the message.
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: 1\nb: \x07\n", source="t")
    assert str(caught.value) == (
        "t: not valid YAML: unacceptable character #x0007: special characters are not allowed"
    )


def test_duplicates_after_a_merge_key_are_still_refused() -> None:
    with pytest.raises(ConfigError, match=r"\(line 5, column 3\): duplicate key 'y' \(first"):
        load_yaml("a: &a {x: 1}\nc:\n  <<: *a\n  y: 1\n  y: 2\n", source="t")


def test_a_sequence_as_a_key_gets_yamls_own_error() -> None:
    # Not hashable: the duplicate check passes over it, and the constructor refuses it.
    with pytest.raises(ConfigError) as caught:
        load_yaml("? [1, 2]\n: x\n", source="t")
    assert str(caught.value) == "t: not valid YAML (line 1, column 3): found unhashable key"


def test_lab_files_and_line_sensor_configs_use_the_same_loader(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("devices:\n  - {name: d, model: keysight-34461a, latency: 5e-4}\n")
    assert load_lab(lab).devices[0].latency == 5e-4
    lab.write_text("devices: []\ndevices: []\n")
    with pytest.raises(ConfigError, match="duplicate key 'devices'"):
        load_lab(lab)
    sensor = tmp_path / "sensor.yaml"
    sensor.write_text("name: t\npattern: 'T=(?P<t>\\S+)'\nchannels:\n  - {name: t, scale: 1e-3}\n")
    assert load_config(sensor).channels[0].scale == 1e-3


def test_a_users_yaml_file_is_read_as_utf8_text(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_bytes("title: Messung bei 4 K \u2013 \u00b5A\n".encode())
    assert read_user_text(path, what="a run config") == "title: Messung bei 4 K \u2013 \u00b5A\n"
    assert read_user_text(str(path), what="a run config").startswith("title")


def test_an_hdf5_file_given_for_yaml_is_named_as_one(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(ConfigError) as caught:
        read_user_text(path, what="a run config")
    assert caught.value.source == str(path)
    assert caught.value.detail == (
        "this is an HDF5 file, not a run config (YAML): look inside a run file with "
        f"`instrumentkit inspect {path}`"
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    "content",
    [
        b"\x89HDF\r\n\x1a",  # the signature cut short
        b"\x89HDF\r\n\x1a\x00\xff",  # one byte off
        b"\xff\xfe\x00name: x",  # UTF-16 text
    ],
)
def test_other_bytes_are_not_utf8_text(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "lab.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        read_user_text(path, what="a lab file")
    assert caught.value.source == str(path)
    assert caught.value.detail == "not a lab file: not UTF-8 text (a lab file is a YAML file)"


def test_a_missing_file_is_oserror_as_read_text_raises_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_user_text(tmp_path / "nowhere.yaml", what="a run config")
