"""The lesson 02 checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from checkcases import blank, fails_with, passes
from deepdream_lib.course.checks import lesson02


# --- exercise 1: gradient_ascent_step ----------------------------------------------------------------------
def gradient_ascent_step(image, gradient, step_size):
    return np.clip(image + step_size * gradient, 0.0, 1.0)


def _in_place(image, gradient, step_size):
    image += step_size * gradient
    return np.clip(image, 0.0, 1.0)


STEP_MISTAKES = {
    "descends": (lambda x, g, s: np.clip(x - s * g, 0, 1), "descends"),
    "no clipping": (lambda x, g, s: x + s * g, "forgot to clip"),
    "ignores step_size": (lambda x, g, s: np.clip(x + g, 0, 1), "ignored step_size"),
    "normalises inside": (lambda x, g, s: np.clip(x + s * g / g.std(), 0, 1), "normalised the gradient"),
    "wrong shape": (lambda x, g, s: np.clip(x + s * g, 0, 1)[0], "Wrong shape"),
    "in place": (_in_place, "in place"),
    "no return": (lambda x, g, s: None, "return"),
}


def test_gradient_ascent_step(capsys):
    fails_with(lesson02.check_gradient_ascent_step, blank, "Not implemented yet")
    passes(lesson02.check_gradient_ascent_step, gradient_ascent_step, capsys)
    # TensorFlow answers are fine too
    passes(
        lesson02.check_gradient_ascent_step,
        lambda x, g, s: tf.clip_by_value(x + s * g, 0.0, 1.0),
        capsys,
    )


@pytest.mark.parametrize("mistake", sorted(STEP_MISTAKES))
def test_gradient_ascent_step_diagnoses(mistake):
    function, phrase = STEP_MISTAKES[mistake]
    fails_with(lesson02.check_gradient_ascent_step, function, phrase)


# --- exercise 2: normalize_std -----------------------------------------------------------------------------
def normalize_std(gradient):
    return gradient / (tf.math.reduce_std(gradient, axis=[1, 2, 3], keepdims=True) + 1e-8)


NORMALIZE_MISTAKES = {
    "not normalised": (lambda g: g, "not normalised"),
    "whole batch": (lambda g: g / tf.math.reduce_std(g), "whole batch"),
    "variance": (
        lambda g: g / (tf.math.reduce_variance(g, axis=[1, 2, 3], keepdims=True) + 1e-8),
        "variance",
    ),
    "per channel": (lambda g: g / tf.math.reduce_std(g, axis=[1, 2], keepdims=True), "each colour channel"),
    "subtracts the mean": (
        lambda g: (g - tf.reduce_mean(g, axis=[1, 2, 3], keepdims=True))
        / tf.math.reduce_std(g, axis=[1, 2, 3], keepdims=True),
        "subtracted the mean",
    ),
    "no epsilon": (lambda g: g / tf.math.reduce_std(g, axis=[1, 2, 3], keepdims=True), "epsilon"),
    "returns the std": (lambda g: tf.math.reduce_std(g, axis=[1, 2, 3]), "Wrong shape"),
}


def test_normalize_std(capsys):
    fails_with(lesson02.check_normalize_std, blank, "Not implemented yet")
    passes(lesson02.check_normalize_std, normalize_std, capsys)
    numpy_answer = lambda g: g / (np.std(g, axis=(1, 2, 3), keepdims=True) + 1e-8)  # noqa: E731
    passes(lesson02.check_normalize_std, numpy_answer, capsys)


@pytest.mark.parametrize("mistake", sorted(NORMALIZE_MISTAKES))
def test_normalize_std_diagnoses(mistake):
    function, phrase = NORMALIZE_MISTAKES[mistake]
    fails_with(lesson02.check_normalize_std, function, phrase)


# --- exercise 3: numerical_gradient ------------------------------------------------------------------------
def numerical_gradient(f, x, eps=1e-4):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        above = f(x)
        x[index] = saved - eps
        below = f(x)
        x[index] = saved
        grad[index] = (above - below) / (2 * eps)
    return grad


def _one_sided(f, x, eps=1e-4):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    base = f(x)
    for index in np.ndindex(x.shape):
        nudged = x.copy()
        nudged[index] += eps
        grad[index] = (f(nudged) - base) / eps
    return grad


def _all_at_once(f, x, eps=1e-4):
    x = np.asarray(x, dtype=float)
    return np.full_like(x, (f(x + eps) - f(x - eps)) / (2 * eps))


def _no_restore(f, x, eps=1e-4):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        x[index] += eps
        above = f(x)
        x[index] -= 2 * eps
        below = f(x)
        grad[index] = (above - below) / (2 * eps)
    return grad


GRADIENT_MISTAKES = {
    "one-sided": (_one_sided, "one-sided"),
    "wrong sign": (lambda f, x, eps=1e-4: -numerical_gradient(f, x, eps), "Wrong sign"),
    "divides by eps": (lambda f, x, eps=1e-4: 2 * numerical_gradient(f, x, eps), "2 * eps"),
    "all entries at once": (_all_at_once, "all entries of x at once"),
    "changes x": (_no_restore, "changed x"),
}


def test_numerical_gradient(capsys):
    fails_with(lesson02.check_numerical_gradient, blank, "Not implemented yet")
    passes(lesson02.check_numerical_gradient, numerical_gradient, capsys)


@pytest.mark.parametrize("mistake", sorted(GRADIENT_MISTAKES))
def test_numerical_gradient_diagnoses(mistake):
    function, phrase = GRADIENT_MISTAKES[mistake]
    fails_with(lesson02.check_numerical_gradient, function, phrase)


# --- exercise 4: maxpool2x2_backward -----------------------------------------------------------------------
def maxpool2x2_backward(upstream, a):
    grad = np.zeros_like(a, dtype=float)
    for row in range(upstream.shape[0]):
        for col in range(upstream.shape[1]):
            window = a[2 * row : 2 * row + 2, 2 * col : 2 * col + 2]
            r, c = np.unravel_index(np.argmax(window), (2, 2))
            grad[2 * row + r, 2 * col + c] = upstream[row, col]
    return grad


def _argmin(upstream, a):
    grad = np.zeros_like(a, dtype=float)
    for row in range(upstream.shape[0]):
        for col in range(upstream.shape[1]):
            window = a[2 * row : 2 * row + 2, 2 * col : 2 * col + 2]
            r, c = np.unravel_index(np.argmin(window), (2, 2))
            grad[2 * row + r, 2 * col + c] = upstream[row, col]
    return grad


def _plain_reshape(upstream, a):
    """A common bug: reshape (h, w) to (h/2, w/2, 4) without the transpose, so 'windows' are row pieces."""
    windows = a.reshape(upstream.shape[0], upstream.shape[1], 4)
    routed = np.zeros_like(windows, dtype=float)
    np.put_along_axis(routed, windows.argmax(axis=-1)[..., None], upstream[..., None], axis=-1)
    return routed.reshape(a.shape)


POOL_MISTAKES = {
    "average pooling": (lambda up, a: np.kron(up, np.ones((2, 2))) / 4, "average"),
    "copies to all": (lambda up, a: np.kron(up, np.ones((2, 2))), "all four"),
    "ones": (lambda up, a: (maxpool2x2_backward(up, a) != 0).astype(float), "upstream"),
    "argmin": (_argmin, "smallest"),
    "windows grouped by a plain reshape": (_plain_reshape, "Window"),
    "pooled shape": (lambda up, a: up, "Wrong shape"),
}


def test_maxpool_backward(capsys):
    fails_with(lesson02.check_maxpool_backward, blank, "Not implemented yet")
    passes(lesson02.check_maxpool_backward, maxpool2x2_backward, capsys)


@pytest.mark.parametrize("mistake", sorted(POOL_MISTAKES))
def test_maxpool_backward_diagnoses(mistake):
    function, phrase = POOL_MISTAKES[mistake]
    fails_with(lesson02.check_maxpool_backward, function, phrase)
