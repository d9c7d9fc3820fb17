"""The ASGI app: the page, its static files, /api/status, /api/stream/NAME and /api/events.

Read-only by construction: every route is GET, the static files are a fixed list read from
the package, and the only file opened is the run file given at start (through one
RunFollower); a stream name is looked up among the file's streams, never used as a path.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from importlib import resources
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from instrumentkit.errors import ValidationError
from instrumentkit.view._follow import RunFollower
from instrumentkit.view._heatmap import Region, parse_index_range
from instrumentkit.view._sweeps import parse_plane

__all__ = ["LOOPBACK_HOSTS", "POLL_SECONDS", "make_app"]

POLL_SECONDS = 0.1
"""How often the server looks at the file for new rows (a SWMR refresh of each stream's
`time` and a read of `status`: well under 1 ms)."""
HEARTBEAT_SECONDS = 1.0
"""An update is sent at least this often, so the elapsed time moves."""
MIN_WIDTH, MAX_WIDTH = 16, 4096
STATIC = {
    "view.js": "text/javascript; charset=utf-8",
    "view.css": "text/css; charset=utf-8",
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "uPlot.LICENSE": "text/plain; charset=utf-8",
}
LOOPBACK_HOSTS = frozenset(("127.0.0.1", "localhost", "::1"))
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'"
    ),
}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _static(name: str) -> bytes:
    return resources.files("instrumentkit.view").joinpath("static", name).read_bytes()


def make_app(follower: RunFollower, *, loopback_only: bool = True) -> ASGIApp:
    """The page's app for one followed run file."""
    files = {name: _static(name) for name in STATIC}
    page = _static("index.html")

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return _not_found(f"no static file {name!r}")
        return Response(files[name], media_type=STATIC[name], headers=HEADERS)

    async def status(request: Request) -> Response:
        return _json(await anyio.to_thread.run_sync(follower.snapshot))

    async def stream(request: Request) -> Response:
        name = request.path_params["name"]
        query = request.query_params
        try:
            width = int(query.get("width", "800"))
            lo = _finite(query.get("x0"))
            hi = _finite(query.get("x1"))
        except ValueError:
            return _bad("width must be an integer, x0 and x1 numbers")
        if (lo is None) != (hi is None):
            return _bad("x0 and x1 go together: the two ends of the range to show")
        width = min(max(width, MIN_WIDTH), MAX_WIDTH)
        if lo is not None and hi is not None and not hi > lo:
            lo = hi = None
        try:
            region = _region(query.get("xindex"), query.get("yindex"))
            field = query.get("field")
            plane = parse_plane(query.get("outer"))
            payload = await anyio.to_thread.run_sync(
                follower.stream, name, width, lo, hi, region, field, plane
            )
        except KeyError:
            return _not_found(f"no stream {name!r} in the run file")
        except ValidationError as error:
            return _bad(str(error))
        return _json(payload)

    async def events(request: Request) -> Response:
        return StreamingResponse(
            _events(follower),
            media_type="text/event-stream",
            headers={**HEADERS, "X-Accel-Buffering": "no"},
        )

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/static/{name}", static),
            Route("/api/status", status),
            Route("/api/stream/{name}", stream),
            Route("/api/events", events),
        ]
    )
    return _LoopbackHostOnly(app) if loopback_only else app


async def _events(follower: RunFollower) -> AsyncIterator[str]:
    """Server-Sent Events: the run's snapshot when it changes (and every second), then `end`."""
    follower.listeners += 1
    try:
        async for event in _changes(follower):
            yield event
    finally:
        follower.listeners -= 1


async def _changes(follower: RunFollower) -> AsyncIterator[str]:
    sent: tuple[Any, ...] | None = None
    quiet = 0.0
    while True:
        snapshot = await anyio.to_thread.run_sync(follower.snapshot)
        changed = (
            snapshot["state"],
            snapshot["reason"],
            tuple((n, s["rows"]) for n, s in snapshot["streams"].items()),
        )
        if snapshot["final"]:
            yield f"event: end\ndata: {json.dumps(snapshot)}\n\n"
            return
        if changed != sent or quiet >= HEARTBEAT_SECONDS:
            yield f"data: {json.dumps(snapshot)}\n\n"
            sent, quiet = changed, 0.0
        await anyio.sleep(POLL_SECONDS)
        quiet += POLL_SECONDS


class _LoopbackHostOnly:
    """Refuses requests whose Host header is not a loopback name (DNS rebinding)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.strip("[]") not in LOOPBACK_HOSTS:
                response = Response("Host not allowed\n", 400, media_type="text/plain")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _region(xindex: str | None, yindex: str | None) -> Region | None:
    """A heat map's region from `xindex`/`yindex` (None when neither was given)."""
    if xindex is None and yindex is None:
        return None
    return parse_index_range("xindex", xindex), parse_index_range("yindex", yindex)


def _finite(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _json(payload: Any, status: int = 200) -> Response:
    return JSONResponse(payload, status_code=status, headers=HEADERS)


def _bad(message: str) -> Response:
    return _json({"error": message}, 400)


def _not_found(message: str) -> Response:
    return _json({"error": message}, 404)
