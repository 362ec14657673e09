"""kernel_messages: a reply that a long poll sleeps through is read within one slice, and limits still hold.

The fake socket below behaves as the real one did in lesson 07's hang: a poll that starts before the
reply arrives does not wake when it arrives, only when its own time limit ends.
"""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import nbformat
import pytest
from jupyter_client.channels import AsyncZMQSocketChannel
from nbclient import NotebookClient

from deepdream_lib.course import kernel_messages

REPLY = {"msg_type": "execute_reply"}


class MissedWakeUp:
    """A channel whose poll, once started, sleeps through the reply's arrival until its time limit."""

    def __init__(self, arrives_after_s: float | None) -> None:
        self.arrival = None if arrives_after_s is None else time.monotonic() + arrives_after_s
        self.polls: list[float | None] = []

    def arrived(self) -> bool:
        return self.arrival is not None and time.monotonic() >= self.arrival

    async def get_msg(self, channel: object, timeout: float | None = None) -> dict:
        self.polls.append(timeout)
        if self.arrived():
            return REPLY
        await asyncio.sleep(3600 if timeout is None else timeout)  # no wake-up on arrival
        if self.arrived():
            return REPLY
        raise Empty


def timed(coroutine) -> tuple[object, float]:
    start = time.monotonic()
    result = asyncio.run(asyncio.wait_for(coroutine, timeout=10))
    return result, time.monotonic() - start


def test_one_long_poll_sleeps_through_the_reply_but_slices_read_it_within_one_slice():
    socket = MissedWakeUp(arrives_after_s=0.1)
    reply, plain_s = timed(socket.get_msg(None, timeout=1.5))
    assert reply == REPLY and plain_s >= 1.5  # the problem: read only at the time limit

    socket = MissedWakeUp(arrives_after_s=0.1)
    reply, sliced_s = timed(kernel_messages.sliced(socket.get_msg, max_wait_s=0.05)(None, timeout=1.5))
    assert reply == REPLY and sliced_s < 0.5
    assert max(socket.polls) <= 0.05


def test_waiting_for_ever_still_waits_but_in_slices():
    socket = MissedWakeUp(arrives_after_s=0.3)
    reply, seconds = timed(kernel_messages.sliced(socket.get_msg, max_wait_s=0.05)(None, timeout=None))
    assert reply == REPLY and 0.3 <= seconds < 0.8
    assert None not in socket.polls and len(socket.polls) >= 5


def test_a_time_limit_still_raises_empty_at_its_end_not_before():
    socket = MissedWakeUp(arrives_after_s=None)  # no reply ever
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(kernel_messages.sliced(socket.get_msg, max_wait_s=0.05)(None, timeout=0.3))
    assert 0.3 <= time.monotonic() - start < 0.7


@pytest.fixture
def restore_channel(monkeypatch):
    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", AsyncZMQSocketChannel.get_msg)
    return AsyncZMQSocketChannel.get_msg


def test_install_slices_the_asyncio_channel_once(restore_channel):
    kernel_messages.install()
    installed = AsyncZMQSocketChannel.get_msg
    assert installed is not restore_channel and installed.__wrapped__ is restore_channel
    assert installed.max_wait_s == kernel_messages.MAX_WAIT_S
    kernel_messages.install()
    assert AsyncZMQSocketChannel.get_msg is installed  # not wrapped twice


def test_a_real_notebook_runs_through_nbclient_with_sliced_waits(restore_channel):
    kernel_messages.install(max_wait_s=0.2)
    cells = ["import time\ntime.sleep(0.6)\nprint('slept')", "print(6 * 7)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    texts = ["".join(o.get("text", "") for o in cell.outputs) for cell in notebook.cells]
    assert texts == ["slept\n", "42\n"]


def test_the_grading_runner_slices_its_waits_without_importing_tensorflow(tmp_path):
    """The grader's runner (``python -I -m deepdream_lib.course.runner``) imports no TensorFlow, and its
    main installs slicing before it starts a kernel (a spec that names no notebook stops it just after)."""
    import subprocess
    import sys

    probe = (
        "import os, sys\n"
        "from deepdream_lib.course import runner\n"
        "spec = runner.RunSpec('missing.ipynb', False, 512, 5, 5, {}, 'x', runner.CheckCode('', ''),"
        " runner.CheckCode('', ''))\n"
        "open('spec.json', 'w').write(spec.to_json())\n"
        "try:\n"
        "    runner.main(['spec.json', str(os.open(os.devnull, os.O_WRONLY))])\n"
        "except FileNotFoundError:\n"
        "    pass\n"
        "from jupyter_client.channels import AsyncZMQSocketChannel\n"
        "print(hasattr(AsyncZMQSocketChannel.get_msg, 'max_wait_s'), 'tensorflow' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True,
                          cwd=tmp_path)
    assert done.stdout.split() == ["True", "False"]
