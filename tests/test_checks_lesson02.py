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
    "no clipping": (lambda x, g, s: x + s * g, "not clipped"),
    "clips before the step": (lambda x, g, s: np.clip(x, 0, 1) + s * g, "clipping the image before"),
    "clips to [0, 255]": (lambda x, g, s: np.clip(x + s * g, 0, 255), "you clipped to [0, 255]"),
    "clips only from below": (lambda x, g, s: np.maximum(x + s * g, 0), "only from below"),
    "clips to [-1, 1]": (lambda x, g, s: np.clip(x + s * g, -1, 1), "you clipped to [-1, 1]"),
    "clips only from above": (lambda x, g, s: np.minimum(x + s * g, 1), "only from above"),
    "sign of the gradient": (lambda x, g, s: np.clip(x + s * np.sign(g), 0, 1), "sign(gradient)"),
    "fixed step size": (lambda x, g, s: np.clip(x + 0.01 * g, 0, 1), "0.01 * gradient"),
    "squared step size": (lambda x, g, s: np.clip(x + s**2 * g, 0, 1), "0.0004 * gradient"),
    "returns only the move": (lambda x, g, s: s * g, "only the move"),
    "8-bit result": (lambda x, g, s: (np.clip(x + s * g, 0, 1) * 255).astype(np.uint8), "8-bit"),
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
    "no keepdims": (lambda g: g / tf.math.reduce_std(g, axis=[1, 2, 3]), "Without keepdims=True"),
    "no keepdims, with epsilon": (
        lambda g: g / (tf.math.reduce_std(g, axis=[1, 2, 3]) + 1e-8), "Without keepdims=True"
    ),
    "multiplies": (lambda g: g * tf.math.reduce_std(g, axis=[1, 2, 3], keepdims=True), "multiplied"),
    "mean absolute value": (
        lambda g: g / (tf.reduce_mean(tf.abs(g), axis=[1, 2, 3], keepdims=True) + 1e-8), "mean absolute"
    ),
    "largest absolute value": (
        lambda g: g / (tf.reduce_max(tf.abs(g), axis=[1, 2, 3], keepdims=True) + 1e-8), "largest absolute"
    ),
    "L2 norm": (
        lambda g: g / (tf.norm(tf.reshape(g, (3, -1)), axis=1)[:, None, None, None] + 1e-8), "L2 norm"
    ),
    "epsilon too large": (
        lambda g: g / (tf.math.reduce_std(g, axis=[1, 2, 3], keepdims=True) + 1e-2), "epsilon (about 0.01)"
    ),
    "axes 2, 3": (lambda g: g / tf.math.reduce_std(g, axis=[2, 3], keepdims=True), "axes [2, 3]"),
    "batch axis": (lambda g: g / tf.math.reduce_std(g, axis=0, keepdims=True), "axes [0]"),
}


def test_normalize_std(capsys):
    fails_with(lesson02.check_normalize_std, blank, "Not implemented yet")
    passes(lesson02.check_normalize_std, normalize_std, capsys)
    numpy_answer = lambda g: g / (np.std(g, axis=(1, 2, 3), keepdims=True) + 1e-8)  # noqa: E731
    passes(lesson02.check_normalize_std, numpy_answer, capsys)
    # other ways to keep 0 / 0 away are fine too
    inside = lambda g: g / tf.sqrt(tf.math.reduce_variance(g, axis=[1, 2, 3], keepdims=True) + 1e-8)  # noqa: E731
    passes(lesson02.check_normalize_std, inside, capsys)


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


def _float32(f, x, eps=1e-4):
    x = np.array(x, dtype=np.float32)
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


def _not_put_back(f, x, eps=1e-4):
    x = np.array(x, dtype=float)  # a copy, so the caller's x is safe; but each nudge stays
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        x[index] += eps
        above = f(x)
        x[index] -= 2 * eps
        below = f(x)
        grad[index] = (above - below) / (2 * eps)
    return grad


def _precedence(f, x, eps=1e-4):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        above = f(x)
        x[index] = saved - eps
        below = f(x)
        x[index] = saved
        grad[index] = (above - below) / 2 * eps
    return grad


GRADIENT_MISTAKES = {
    "float32 copy": (_float32, "float32"),
    "ignores eps": (lambda f, x, eps=1e-4: numerical_gradient(f, x, 1e-4), "not by eps = 0.01"),
    "entries not put back": (_not_put_back, "did not put each entry back"),
    "/ 2 * eps": (_precedence, "in brackets"),
    "no division": (lambda f, x, eps=1e-4: numerical_gradient(f, x, eps) * 2 * eps, "forgot to divide"),
    "backward difference": (lambda f, x, eps=1e-4: _one_sided(f, x, -eps), "one-sided"),
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


def _routed(upstream, a, step=2, swap=False, value=None):
    grad = np.zeros_like(a, dtype=float)
    for row in range(upstream.shape[0]):
        for col in range(upstream.shape[1]):
            window = a[step * row : step * row + 2, step * col : step * col + 2]
            r, c = np.unravel_index(np.argmax(window), (2, 2))
            if swap:
                r, c = c, r
            grad[step * row + r, step * col + c] = upstream[row, col] if value is None else value(window)
    return grad


def _same_range(upstream, a):
    grad = np.zeros_like(a, dtype=float)
    for row in range(upstream.shape[1]):  # the number of columns, for the rows too
        for col in range(upstream.shape[1]):
            window = a[2 * row : 2 * row + 2, 2 * col : 2 * col + 2]
            r, c = np.unravel_index(np.argmax(window), (2, 2))
            grad[2 * row + r, 2 * col + c] = upstream[row, col]
    return grad


POOL_MISTAKES = {
    "overlapping windows": (lambda up, a: _routed(up, a, step=1), "overlap"),
    "row and column swapped": (lambda up, a: _routed(up, a, swap=True), "swapped the winner's row"),
    "the input's value": (lambda up, a: _routed(up, a, value=np.max), "input's value"),
    "times the input": (lambda up, a: maxpool2x2_backward(up, a) * a, "multiplied the upstream"),
    "same loop range for rows and columns": (_same_range, "got no gradient at all"),
    "another window's upstream": (lambda up, a: maxpool2x2_backward(up.T.reshape(up.shape), a), "its own"),
    "average pooling": (lambda up, a: np.kron(up, np.ones((2, 2))) / 4, "average"),
    "copies to all": (lambda up, a: np.kron(up, np.ones((2, 2))), "all four"),
    "ones": (lambda up, a: (maxpool2x2_backward(up, a) != 0).astype(float), "upstream"),
    "argmin": (_argmin, "smallest"),
    "windows grouped by a plain reshape": (_plain_reshape, "plain reshape"),
    "pooled shape": (lambda up, a: up, "Wrong shape"),
}


def test_maxpool_backward(capsys):
    fails_with(lesson02.check_maxpool_backward, blank, "Not implemented yet")
    passes(lesson02.check_maxpool_backward, maxpool2x2_backward, capsys)


@pytest.mark.parametrize("mistake", sorted(POOL_MISTAKES))
def test_maxpool_backward_diagnoses(mistake):
    function, phrase = POOL_MISTAKES[mistake]
    fails_with(lesson02.check_maxpool_backward, function, phrase)
