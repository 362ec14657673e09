"""Small HTTP servers on 127.0.0.1 for the URL tests: files, a server that trickles, one that sends too much.

Every handler ends by itself (bounded loops), so a test that gives up on a download leaves nothing
running for long.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import time
from collections.abc import Callable, Iterator

TRICKLE_BYTES = 20  # the trickling server sends this many bytes, one a second, then stops
TOO_MUCH_BYTES = 50_000


class Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request lines in the test output
        pass


class Files(Quiet, http.server.SimpleHTTPRequestHandler):
    """Serves the files of ``directory`` (pass it with functools.partial)."""


class Misbehaving(Quiet):
    """``/trickle``: headers, then one byte a second, ``TRICKLE_BYTES`` of them; ``/declared``: says it
    sends ``TOO_MUCH_BYTES`` (Content-Length) and does; ``/undeclared``: sends them without saying so."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        if self.path.startswith("/trickle"):
            self.send_header("Content-Length", str(TRICKLE_BYTES))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up
                for _ in range(TRICKLE_BYTES):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(1.0)
            return
        if self.path.startswith("/declared"):
            self.send_header("Content-Length", str(TOO_MUCH_BYTES))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(b"x" * TOO_MUCH_BYTES)


@contextlib.contextmanager
def serving(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 in a thread while the block runs; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def files(directory) -> Callable[..., http.server.BaseHTTPRequestHandler]:
    """A handler that serves the files of ``directory``."""
    return functools.partial(Files, directory=str(directory))


@functools.cache
def misbehaving_url() -> str:
    """The base URL of one :class:`Misbehaving` server for the whole test session (a daemon thread)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"
