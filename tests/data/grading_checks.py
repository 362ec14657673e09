"""Tiny exercise checks for ``tests/test_grading.py``: the real check machinery, without TensorFlow.

The submission notebooks that the test builds put this folder on ``sys.path`` and call these checks,
as students call a lesson's checks; the grader runs them again, from its own copy, after the notebook.
Importing ``deepdream_lib.course.checks`` loads no TensorFlow (the package imports lazily).
"""

from __future__ import annotations

import numpy as np

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array

__all__ = ["CheckFailed", "check_add", "check_mul"]


@check("add(a, b) returns the sum")
def check_add(add) -> None:
    """Exercise 1: ``add``."""
    got = add(2, 3)
    expect(got != -1, "add(2, 3) gave -1: you subtracted b from a instead of adding.")
    expect(got == 5, f"add(2, 3) gave {got!r}, expected 5.")


@check("mul(a, b) returns the product")
def check_mul(mul) -> None:
    """Exercise 2: ``mul``, compared with ``np.allclose`` (what a deeper patch can fool, see the tests)."""
    got = returned_array(mul(4.0, 3.0), "mul(4.0, 3.0)")
    expect(bool(np.allclose(got, 12.0)), f"mul(4.0, 3.0) gave {got!r}, expected 12.")
