"""The one YAML loader for files users write: run configs, lab files, line-sensor configs.

Safe loading (plain data only, nothing named in a file is imported), with four changes to
PyYAML's YAML 1.1 rules, each because the 1.1 behaviour lost or hid what a user meant
(decision 0605):

- numbers as physicists write them are numbers: `5e-4`, `1e1`, `-1E-3` and `1.0e5` are
  floats (YAML 1.2), not the strings YAML 1.1 makes of them;
- a key given twice in one mapping is refused, naming the key and both lines (1.1 keeps
  the last one silently);
- dates and times become ISO 8601 text (`2024-01-01`), which JSON and HDF5 store as is;
- the document's expanded size is capped: aliases may share a node many times over
  (a "billion laughs" bomb of a few lines expands to gigabytes once validated), so the
  node count with every alias expanded must stay under `MAX_NODES`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from instrumentkit.errors import ConfigError

__all__ = ["MAX_NODES", "UserFileLoader", "load_yaml", "read_user_text"]

MAX_NODES = 1_000_000
"""Most nodes a document may hold with every alias expanded (a 10k-value sweep is ~10k)."""

_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# YAML 1.2 core-schema floats (a dot or an exponent, signs optional), and what YAML 1.1
# also accepted (digit groups with '_', '1:30.5' base 60), so no existing file changes.
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*\.[0-9_]*|[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.VERBOSE,
)


class UserFileLoader(yaml.SafeLoader):
    """yaml.SafeLoader with YAML 1.2 floats, no duplicate keys, ISO dates, a size cap."""

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        node: MappingNode = super().compose_mapping_node(anchor)
        first_line: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
                continue
            if (key.tag, key.value) in first_line:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key.value!r} (first given on line "
                    f"{first_line[key.tag, key.value]}); YAML would keep only the last value",
                    key.start_mark,
                )
            first_line[key.tag, key.value] = key.start_mark.line + 1
        return node

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _count_nodes(node, {}, set())
        return self.construct_document(node)

    def construct_iso_timestamp(self, node: ScalarNode) -> str:
        return str(self.construct_yaml_timestamp(node).isoformat())


# Swap the YAML 1.1 float resolver for `_FLOAT`; every other resolver stays as it was.
# `_FLOAT` never matches a plain integer (it needs a dot, an exponent, or inf/nan).
UserFileLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _FLOAT_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
UserFileLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT, list("-+0123456789."))
UserFileLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", UserFileLoader.construct_iso_timestamp
)


def _count_nodes(node: Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """The node count of `node` with every alias expanded; each shared node counted once."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise yaml.constructor.ConstructorError(
            None, None, "an alias refers to a node that contains it (a recursive structure)",
            node.start_mark,
        )  # fmt: skip
    open_nodes.add(key)
    size = 1
    if isinstance(node, (SequenceNode, MappingNode)):
        children = node.value if isinstance(node, SequenceNode) else _flat(node.value)
        for child in children:
            size += _count_nodes(child, sizes, open_nodes)
            if size > MAX_NODES:
                break
    open_nodes.discard(key)
    if size > MAX_NODES:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"the document expands to more than {MAX_NODES:,} values through its aliases "
            "(&anchor / *alias); write the data out or use fewer aliases",
            node.start_mark,
        )
    sizes[key] = size
    return size


def _flat(pairs: list[tuple[Node, Node]]) -> list[Node]:
    return [node for pair in pairs for node in pair]


def load_yaml(text: str, *, source: str) -> Any:
    """Parse one YAML document a user wrote; every problem is a one-line ConfigError."""
    try:
        return yaml.load(text, Loader=UserFileLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"not valid YAML{where}: {problem}", source=source) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply", source=source) from None


def read_user_text(path: str | os.PathLike[str], *, what: str) -> str:
    """The text of a user's YAML file (OSError as `read_text` raises it); ConfigError for
    one that is not UTF-8 text, saying so when it is an HDF5 file (a run file given where
    its config was meant) instead of a UnicodeDecodeError traceback."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        with open(path, "rb") as file:
            hdf5 = file.read(8) == b"\x89HDF\r\n\x1a\n"
        if hdf5:
            message = (
                f"this is an HDF5 file, not {what} (YAML): look inside a run file with "
                f"`instrumentkit inspect {path}`"
            )
        else:
            message = f"not {what}: not UTF-8 text ({what} is a YAML file)"
        raise ConfigError(message, source=str(path)) from None
