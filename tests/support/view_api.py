"""The live view's HTTP API as a test asks it: one GET, its status and its JSON."""

from __future__ import annotations

import http.client
import json
from typing import Any


def get(server: Any, query: str) -> tuple[int, dict]:
    """GET `query` from a running ViewServer on 127.0.0.1: (status, the decoded JSON)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", query)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()
