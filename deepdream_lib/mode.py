"""Fast mode: small images and few steps, so every lesson runs on a 2-core CPU in CI.

Set the environment variable ``DEEPDREAM_FAST=1`` before starting the kernel. On Colab, leave it
unset and the lessons run at full quality.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

FAST_ENV = "DEEPDREAM_FAST"


def is_fast() -> bool:
    """True when ``DEEPDREAM_FAST`` is set to 1/true/yes (read each call, so tests can change it)."""
    return os.environ.get(FAST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(full: T, fast: T) -> T:
    """Return ``fast`` in fast mode and ``full`` otherwise: ``size = pick(512, 128)``."""
    return fast if is_fast() else full


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
    return f"deepdream_lib {__version__}, TensorFlow {tf.__version__}, Python {python}: {mode}"
