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
