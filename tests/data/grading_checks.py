"""Tiny exercise checks for ``tests/test_grading.py``: the real check machinery, without TensorFlow.

The submission notebooks that the test builds put this folder on ``sys.path`` and call these checks.
``deepdream_lib.checks`` is loaded from its file, not imported, because importing the package imports
TensorFlow (600 MB and seconds per kernel), which these checks do not need.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _load_checks_machinery():
    """``deepdream_lib/checks/__init__.py`` as a module, without running ``deepdream_lib/__init__.py``."""
    package = importlib.util.find_spec("deepdream_lib")  # finds the folder, imports nothing
    path = Path(package.submodule_search_locations[0]) / "checks" / "__init__.py"
    spec = importlib.util.spec_from_file_location("_grading_test_checks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_machinery = _load_checks_machinery()
check, expect, CheckFailed = _machinery.check, _machinery.expect, _machinery.CheckFailed


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
