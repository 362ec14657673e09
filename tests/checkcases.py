"""What the tests of the exercise checks share: a blank answer, and "this check fails, saying ..."."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deepdream_lib.checks import CheckFailed


def blank(*args, **kwargs):
    """An exercise as learners get it: the generator's stub."""
    raise NotImplementedError("Exercise: write your answer here")


def fails_with(check: Callable, function: Callable, *phrases: str) -> str:
    """Assert that ``check(function)`` raises CheckFailed whose message holds every phrase; return it."""
    with pytest.raises(CheckFailed) as failure:
        check(function)
    message = str(failure.value)
    for phrase in phrases:
        assert phrase in message, message
    return message


def passes(check: Callable, function: Callable, capsys: pytest.CaptureFixture) -> None:
    """Assert that ``check(function)`` passes and prints its PASS line."""
    check(function)
    assert "PASS" in capsys.readouterr().out
