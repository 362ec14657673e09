"""What the tests of the exercise checks share: a blank answer, and "this check fails, saying ..."."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deepdream_lib.course.checks import CheckFailed


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


Case = tuple[Callable, Callable, list[tuple[Callable, str]]]  # check, solution, [(mistake, diagnosis phrase)]


def table_tests(cases: list[Case]) -> tuple[Callable, Callable, Callable]:
    """Three parametrised tests over a table of (check, solution, [(mistake, diagnosis)]) rows.

    Assign them to module-level ``test_*`` names: the blank exercise fails with "Not implemented yet",
    the solution passes, and each typical mistake fails with a message that holds its diagnosis phrase.
    """

    @pytest.mark.parametrize("check", [case[0] for case in cases], ids=lambda c: c.__name__)
    def blank_fails(check):
        with pytest.raises(CheckFailed, match="Not implemented yet"):
            check(blank)

    @pytest.mark.parametrize("check, solution", [case[:2] for case in cases],
                             ids=lambda c: getattr(c, "__name__", ""))
    def solution_passes(check, solution, capsys):
        passes(check, solution, capsys)

    @pytest.mark.parametrize(
        "check, wrong, diagnosis",
        [(case[0], wrong, diagnosis) for case in cases for wrong, diagnosis in case[2]],
        ids=lambda c: getattr(c, "__name__", str(c)[:20]),
    )
    def mistake_diagnosed(check, wrong, diagnosis):
        fails_with(check, wrong, diagnosis)

    return blank_fails, solution_passes, mistake_diagnosed
