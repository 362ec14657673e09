"""Objectives that cannot be dreamed are refused in one line that names them (issue 10).

The bad-input table (tests/test_bad_inputs.py) holds the dream rows; these are the other routes and
the rule that the check names only its two mistakes and leaves every other failure alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib.engine import objective_values
from deepdream_lib.errors import DeepDreamError, ObjectiveError
from deepdream_lib.objectives import Objective, layer


def _mean(tensor: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tensor, axis=[1, 2, 3])


def test_an_undeclared_layer_is_named_on_every_route(tiny, cat64):
    sneaky = Objective(lambda acts: _mean(acts["conv3"]), ["conv2"], "sneaky")
    for run in (lambda: objective_values(tiny, sneaky, cat64), lambda: sneaky.validate(tiny)):
        with pytest.raises(ObjectiveError, match=r"sneaky reads layer 'conv3', which it did not declare "
                                                 r"\(declared: conv2\)"):  # fmt: skip
            run()


def test_an_objective_without_gradient_is_named(tiny, cat64):
    frozen = Objective(lambda acts: _mean(tf.stop_gradient(acts["conv2"])), ["conv2"], "frozen")
    with pytest.raises(ObjectiveError, match="frozen has no gradient") as caught:
        objective_values(tiny, frozen, cat64)
    assert "\n" not in str(caught.value) and "tf.stop_gradient" in str(caught.value)


def test_other_failures_are_left_to_the_real_evaluation(tiny, cat64):
    """An objective that works eagerly but not when traced (.numpy()) is not refused by the check."""
    eager_only = Objective(lambda acts: tf.constant(acts["conv2"].numpy().mean(axis=(1, 2, 3))), ["conv2"],
                           "numpy_mean")  # fmt: skip
    expected = objective_values(tiny, layer("conv2"), cat64)
    np.testing.assert_allclose(objective_values(tiny, eager_only, cat64), expected, rtol=1e-5)


def test_a_library_error_raised_while_tracing_stays_one_line():
    """AutoGraph would rewrite it into a many-line 'in user code' report; DeepDreamError passes through."""

    @tf.function
    def traced(x: tf.Tensor) -> tf.Tensor:
        raise DeepDreamError("one clear line")

    with pytest.raises(DeepDreamError) as caught:
        traced(tf.zeros(1))
    assert str(caught.value) == "one clear line"
