"""Exercise checks: run a learner's function on small inputs and say what is wrong, not only *that* it is.

Every check takes the learner's function, prints a ``PASS`` line when it is right, and otherwise raises
:class:`CheckFailed` whose message diagnoses the mistake. The class grading command (``python -m
deepdream_lib grade``) runs the same checks again after a notebook's cells, from its own copy of this
code, and keeps only those verdicts (see :mod:`deepdream_lib.course.runner`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., None])


class CheckFailed(AssertionError):
    """The learner's answer is not right yet; the message says why and what to try."""


def check(success: str) -> Callable[[F], F]:
    """Decorate a check: print ``success`` when it returns, turn any failure into a diagnosis.

    A learner's ``NotImplementedError`` becomes "not implemented yet"; any other exception raised by
    the learner's code becomes "your function raised ...".
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args, **kwargs) -> None:
            name = func.__name__
            try:
                func(*args, **kwargs)
            except CheckFailed:
                raise
            except NotImplementedError as error:
                message = f"Not implemented yet: replace the `raise NotImplementedError` line. ({error})"
                raise CheckFailed(message) from None
            except Exception as error:  # the learner's code crashed: say so plainly
                message = f"Your function raised {type(error).__name__}: {error}"
                raise CheckFailed(message) from error
            print(f"PASS {name}: {success}")

        return wrapper  # type: ignore[return-value]

    return decorate


def expect(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def returned_array(value: object, what: str, dtype: type | None = np.float64) -> np.ndarray:
    """The learner's return value as an array, or :class:`CheckFailed` saying why it is not one.

    ``None`` gets "did you forget the `return`?"; anything numpy cannot read as an array names its type.
    ``dtype=None`` keeps the value's own dtype (for integer answers such as indices).
    """
    if value is None:
        raise CheckFailed(f"{what} returned None: did you forget the `return`?")
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise CheckFailed(f"{what} returned a {type(value).__name__}, not an array: {error}") from None
