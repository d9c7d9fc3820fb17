"""docs/sharing.md's share file is a valid share file, and its table matches the defaults."""

from __future__ import annotations

import re
from pathlib import Path

from instrumentkit._yaml import load_yaml
from instrumentkit.share import Limits
from instrumentkit.share._config import parse_share

DOC = Path(__file__).parents[2] / "docs" / "sharing.md"


def test_the_documented_share_file_is_valid() -> None:
    (block,) = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    spec = parse_share(load_yaml(block, source="sharing.md"), source="sharing.md")
    assert list(spec.instruments) == ["dmm", "gauge", "scope"]
    assert spec.instruments["gauge"].rules().protocol == "raw"
    assert spec.instruments["scope"].rules().read_only
    assert spec.allow == ["192.168.1.0/24"]


def test_documented_limits_are_the_defaults() -> None:
    text = DOC.read_text()
    limits = Limits()
    assert f"| `limits.max_clients` | {limits.max_clients} |" in text
    assert limits.max_message_size == 1 << 20
    assert "| `limits.max_message_size` | 1 MiB |" in text
    assert f"| `limits.idle_timeout` | {limits.idle_timeout:g} s |" in text
    assert f"| `limits.io_timeout` | {limits.io_timeout:g} s |" in text
