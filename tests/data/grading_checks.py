"""Tiny exercise checks for ``tests/test_grading.py``: the real check machinery, without TensorFlow.

The submission notebooks that the test builds put this folder on ``sys.path`` and call these checks.
Importing ``deepdream_lib.course.checks`` loads no TensorFlow (the package imports lazily).
"""

from __future__ import annotations

from deepdream_lib.course.checks import CheckFailed, check, expect

__all__ = ["CheckFailed", "check_add", "check_mul"]


@check("add(a, b) returns the sum")
def check_add(add) -> None:
    """Exercise 1: ``add``."""
    got = add(2, 3)
    expect(got != -1, "add(2, 3) gave -1: you subtracted b from a instead of adding.")
    expect(got == 5, f"add(2, 3) gave {got!r}, expected 5.")


@check("mul(a, b) returns the product")
def check_mul(mul) -> None:
    """Exercise 2: ``mul``."""
    got = mul(4, 3)
    expect(got == 12, f"mul(4, 3) gave {got!r}, expected 12.")
