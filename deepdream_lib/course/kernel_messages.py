"""Wait for a Jupyter kernel's messages in short slices, so a missed wake-up costs a second, not a timeout.

Three parts of the course run notebooks through ``nbclient``: the book build (via myst-nb), the class
grader (:mod:`deepdream_lib.course.grading`) and ``tools/time_lessons.py``. ``nbclient`` waits for a cell's
reply with one asyncio poll of a ZeroMQ socket, as long as the cell's time limit. Here that poll
sometimes did not wake when the reply arrived, only when its time limit ran out: lesson 07's last cell (a
widget panel) finished in the kernel within a minute, and the client sat with an idle kernel until its
limit (600 s in the book build, 150 s in a test run; with no limit, as the grader runs, for ever). Read at
the limit, the reply was there. ZeroMQ's asyncio support wakes on an edge-triggered file descriptor,
and missed edges are a known class of problem (pyzmq issues 1558 and 2173).

:func:`install` makes every asyncio kernel channel wait in slices of at most a second: each slice asks
the socket again, so a reply is read within a second of its arrival, and a time limit still means the
same. It changes the client side only, never the kernel or the notebook.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from queue import Empty
from typing import Any

from jupyter_client.channels import AsyncZMQSocketChannel

MAX_WAIT_S = 1.0  # the longest single poll of a socket

GetMsg = Callable[..., Awaitable[dict[str, Any]]]


def sliced(get_msg: GetMsg, max_wait_s: float = MAX_WAIT_S) -> GetMsg:
    """``get_msg(channel, timeout)`` that polls in slices of ``max_wait_s``, keeping its meaning.

    ``timeout=None`` still waits for ever, and a number still raises ``queue.Empty`` once that many
    seconds have passed with no message; only no single poll lasts longer than ``max_wait_s``.
    """

    @functools.wraps(get_msg)
    async def get_msg_in_slices(channel: Any, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = max_wait_s if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await get_msg(channel, timeout=min(max_wait_s, left))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    get_msg_in_slices.max_wait_s = max_wait_s  # type: ignore[attr-defined]  # marks it as sliced
    return get_msg_in_slices


def install(max_wait_s: float = MAX_WAIT_S) -> None:
    """Make every asyncio kernel channel (what ``nbclient`` uses) poll in slices; safe to call twice."""
    if not hasattr(AsyncZMQSocketChannel.get_msg, "max_wait_s"):
        AsyncZMQSocketChannel.get_msg = sliced(AsyncZMQSocketChannel.get_msg, max_wait_s)
