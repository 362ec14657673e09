"""The dream panel in a real kernel, clicked as a browser clicks: comm messages sent from outside the kernel
while the dream runs. More than one picture must arrive before the dream ends, and Stop must end it with
the picture so far. (In-process tests of the same view are in test_widgets.py.)"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from queue import Empty

import pytest
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[1]
TOTAL_STEPS = 200  # long enough that a Stop sent after two pictures arrives well before the end

SETUP = f"""
import json
from deepdream_lib import widgets
from deepdream_lib.engine import DreamConfig
from deepdream_lib.images import sample
from tests.conftest import make_tiny_backbone

panel = widgets.dream_panel(sample("chelsea"), make_tiny_backbone(), preview_size=256,
                            config=DreamConfig(num_steps=1, num_octaves=2, jitter=0))  # a quick build
steps = next(c for c in panel.children[0].children[0].children if c.description == "num_steps")
steps.value = {TOTAL_STEPS // 2}  # not live: nothing runs until the click
view = panel.views["preview"]
print(json.dumps({{"preview": panel.children[0].children[1].model_id, "stop": view.stop_button.model_id,
                  "picture": view.picture.model_id, "caption": view.caption.model_id,
                  "background": widgets.kernel_running()}}))
"""

REPORT = """
result = view.result
print(json.dumps({"interrupted": result.interrupted, "steps": len(result.history),
                  "shown_is_result": view.picture.value == widgets.png_bytes(result.image),
                  "changed": float(abs(result.image - widgets.resize_max(sample("chelsea"), 256)).max()),
                  "updates": view.updates, "caption": view.caption.value}))
"""


@pytest.fixture(scope="module")
def kernel():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=env, startup_timeout=60)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def execute(client, code: str, timeout: float = 120) -> str:
    """Run ``code`` in the kernel and return what it printed (raises if the cell failed)."""
    msg_id = client.execute(code)
    printed = []
    deadline = time.monotonic() + timeout
    while True:
        message = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream" and content["name"] == "stdout":
            printed.append(content["text"])
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(printed)


def click(client, model_id: str) -> None:
    """What the browser sends when a Button is clicked."""
    data = {"method": "custom", "content": {"event": "click"}}
    client.shell_channel.send(client.session.msg("comm_msg", {"comm_id": model_id, "data": data}))


def updates_of(message: dict, model_id: str) -> dict | None:
    """The state a kernel sends to a widget's front end in ``message``, if it is an update of ``model_id``;
    binary values (an Image's ``value``) travel as the message's buffers, named in ``buffer_paths``."""
    content = message["content"]
    if message["msg_type"] != "comm_msg" or content.get("comm_id") != model_id:
        return None
    data = content["data"]
    if data.get("method") not in ("update", "echo_update"):
        return None
    paths = data.get("buffer_paths", [])
    binary = {path[0]: bytes(buffer) for path, buffer in zip(paths, message["buffers"], strict=True)}
    return {**data["state"], **binary}


def test_a_click_from_outside_shows_the_dream_as_it_runs_and_stop_keeps_the_picture_so_far(kernel):
    ids = json.loads(execute(kernel, SETUP, timeout=180).strip().splitlines()[-1])
    assert ids["background"]  # in a kernel, a click's dream runs in a worker thread
    while True:  # forget the build's messages
        try:
            kernel.get_iopub_msg(timeout=0.5)
        except Empty:
            break

    click(kernel, ids["preview"])
    pictures, stop_sent, ended, last_picture = 0, False, None, None
    deadline = time.monotonic() + 60
    while ended is None and time.monotonic() < deadline:
        try:
            message = kernel.get_iopub_msg(timeout=1)
        except Empty:
            continue
        if (state := updates_of(message, ids["picture"])) is not None and "value" in state:
            pictures += 1
            last_picture = state["value"]
            if pictures == 2 and not stop_sent:
                click(kernel, ids["stop"])  # while the dream runs
                stop_sent = True
        caption = updates_of(message, ids["caption"])
        if caption and caption.get("value", "").startswith("conv2, "):
            ended = caption["value"]  # the finished caption: "conv2, 1.2 s[: stopped after ...]"
    assert ended is not None, f"the dream did not end within a minute ({pictures} pictures)"
    assert pictures > 1  # more than one picture arrived before the dream ended
    assert "stopped after" in ended

    report = json.loads(execute(kernel, REPORT).strip().splitlines()[-1])
    assert report["interrupted"] and 0 < report["steps"] < TOTAL_STEPS  # stopped early...
    assert report["shown_is_result"] and report["changed"] > 1 / 255  # ...showing the dream so far
    assert last_picture == execute_bytes(kernel)  # what the browser got last is that picture


def execute_bytes(client) -> bytes:
    """The panel's picture as the kernel holds it now (hex over stdout)."""
    return bytes.fromhex(execute(client, "print(view.picture.value.hex())").strip())
