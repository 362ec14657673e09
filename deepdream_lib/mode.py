"""How a lesson runs here: fast mode, the network it dreams with, and whether ImageNet weights download.

Fast mode (small images, few steps, so every lesson runs on a 2-core CPU in CI): set the environment
variable ``DEEPDREAM_FAST=1`` before starting the kernel. On Colab, leave it unset for full quality.
The network: each lesson's ``MODEL = dd.lesson_model("vgg16_hed")``; ``DEEPDREAM_MODEL=vgg16`` (or any
registered name) switches every lesson at once, as the tests do.
"""

from __future__ import annotations

import functools
import os
import socket
from typing import TypeVar

T = TypeVar("T")

FAST_ENV = "DEEPDREAM_FAST"
MODEL_ENV = "DEEPDREAM_MODEL"
IMAGENET_HOST = "storage.googleapis.com"  # where keras.applications downloads its ImageNet weights


def is_fast() -> bool:
    """True when ``DEEPDREAM_FAST`` is set to 1/true/yes (read each call, so tests can change it)."""
    return os.environ.get(FAST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(full: T, fast: T) -> T:
    """Return ``fast`` in fast mode and ``full`` otherwise: ``size = pick(512, 128)``."""
    return fast if is_fast() else full


_chosen: list[str] = []  # what lesson_model last returned in this process (the lesson's MODEL)


def lesson_model(default: str = "vgg16_hed") -> str:
    """The network a lesson dreams with: ``DEEPDREAM_MODEL`` when it is set, else ``default``.

    On Colab try ``"vgg16"`` (ImageNet VGG16, the classic DeepDream look; it downloads its weights).
    The answer is remembered (:func:`chosen_model`), so a lesson's claims know which network it chose.
    """
    model = os.environ.get(MODEL_ENV, "").strip() or default
    _chosen[:] = [model]
    return model


def chosen_model() -> str | None:
    """The network the running lesson chose with :func:`lesson_model`, else ``DEEPDREAM_MODEL``, else None."""
    return _chosen[0] if _chosen else (os.environ.get(MODEL_ENV, "").strip() or None)


@functools.lru_cache(maxsize=1)
def imagenet_reachable(timeout: float = 3.0) -> bool:
    """Whether the server of the ``keras.applications`` ImageNet weights can be reached (asked once).

    Offline this answers within ``timeout`` seconds (at once where there is no DNS), so a lesson can skip
    a download model instead of building a large network only to watch its download fail.
    """
    try:
        with socket.create_connection((IMAGENET_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def check_versions() -> str:
    """Check the TensorFlow version (Keras 3 needs 2.16+) and return a one-line report."""
    import sys

    import tensorflow as tf

    from deepdream_lib import __version__

    major, minor = (int(part) for part in tf.__version__.split(".")[:2])
    if (major, minor) < (2, 16):
        raise RuntimeError(f"TensorFlow {tf.__version__} is too old: `pip install -U 'tensorflow>=2.16'`.")
    mode = "fast (small images, few steps)" if is_fast() else "full quality"
    python = sys.version.split()[0]
    report = f"deepdream_lib {__version__}, TensorFlow {tf.__version__}, Python {python}: {mode}"
    if lesson_model() == "vgg16_hed" and imagenet_reachable():
        report += (
            "\nImageNet weights can be downloaded here: set MODEL = \"vgg16\" in the lesson's first cells "
            "for the classic DeepDream look (vgg16_hed is edge-tuned)."
        )
    return report
