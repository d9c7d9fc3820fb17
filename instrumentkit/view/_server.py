"""Serve the page with uvicorn in a background thread (for `view` and `acquire --view`)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import Path

from instrumentkit.errors import ConfigError
from instrumentkit.view._app import LOOPBACK_HOSTS, make_app
from instrumentkit.view._follow import RunFollower

__all__ = ["ViewServer", "is_loopback"]

FINAL_FETCH_SECONDS = 1.0
"""After a page has heard that the run ended, time left for it to fetch the last rows."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ViewServer:
    """The live view of one run file on `host:port` (port 0: a free one), in a thread.

    with ViewServer("run.h5") as server:
        print(server.url)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        stale_after: float | None = None,
    ) -> None:
        import uvicorn

        loopback = is_loopback(host)
        if not loopback and not allow_remote:
            raise ConfigError(
                f"the live view would listen on {host}, which other machines can reach; it "
                "serves loopback (127.0.0.1) unless --allow-remote is given as well"
            )
        self.follower = RunFollower(path, stale_after=stale_after)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._socket = socket.create_server((host, port), family=family)
        except OSError as error:
            raise OSError(
                f"cannot listen on {host}:{port} for the live view ({error.strerror or error}); "
                "choose another --port"
            ) from error
        self.host, self.port = host, int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            make_app(self.follower, loopback_only=loopback),
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]},
            name="instrumentkit-view", daemon=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> ViewServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (True) or `timeout` s passed (False)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self, wait_for_pages: float = 0.0) -> None:
        """Stop serving; first wait up to `wait_for_pages` s for open pages to see the end."""
        deadline = time.monotonic() + wait_for_pages
        pages = self.follower.listeners
        while self.follower.listeners and time.monotonic() < deadline:
            time.sleep(0.05)
        if pages and wait_for_pages:
            # Their last rows' requests: served until the pages have been quiet for
            # FINAL_FETCH_SECONDS (a loaded machine answers the final plots slowly), never
            # past the grace plus that.
            end = deadline + FINAL_FETCH_SECONDS
            left = time.monotonic()
            while time.monotonic() < end:
                if time.monotonic() - max(self.follower.last_request, left) >= FINAL_FETCH_SECONDS:
                    break
                time.sleep(0.05)
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(5)
        self._socket.close()
        self.follower.close()

    def __enter__(self) -> ViewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
