"""The lesson 06 checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import numpy as np
import pytest

from checkcases import blank, fails_with, passes
from deepdream_lib.course.checks import lesson06


# --- exercise 1: receptive_field_and_jump ------------------------------------------------------------
def receptive_field_and_jump(chain):
    field, jump = 1, 1
    for kernel_size, stride in chain:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field, jump


def _jump_first(chain):
    field, jump = 1, 1
    for kernel_size, stride in chain:
        jump *= stride
        field += (kernel_size - 1) * jump
    return field, jump


def _starts_at_zero(chain):
    field, jump = receptive_field_and_jump(chain)
    return field - 1, jump


def _no_jump(chain):
    return 1 + sum(k - 1 for k, _ in chain), int(np.prod([s for _, s in chain]))


def _jump_is_a_sum(chain):
    return receptive_field_and_jump(chain)[0], 1 + sum(s - 1 for _, s in chain)


def _whole_kernel(chain):
    field, jump = 1, 1
    for kernel_size, stride in chain:
        field += kernel_size * jump
        jump *= stride
    return field, jump


FIELD_MISTAKES = {
    "jump updated first": (_jump_first, "before using it"),
    "no jump": (_no_jump, "jump"),
    "starts at zero": (_starts_at_zero, "(1, 1)"),
    "jump is a sum": (_jump_is_a_sum, "product of the strides"),
    "no return": (lambda chain: None, "return"),
    "one number": (lambda chain: receptive_field_and_jump(chain)[0], "two numbers"),
    "k instead of k - 1": (_whole_kernel, "(k - 1) * jump"),
    "kernels multiplied": (
        lambda chain: (int(np.prod([k for k, _ in chain])), int(np.prod([s for _, s in chain]))),
        "multiplied the kernel sizes",
    ),
    "last layer first": (lambda chain: receptive_field_and_jump(chain[::-1]), "from the last layer"),
    "(jump, field)": (lambda chain: receptive_field_and_jump(chain)[::-1], "(jump, field)"),
    "pairs read as (stride, kernel)": (
        lambda chain: receptive_field_and_jump([(s, k) for k, s in chain]), "(stride, kernel_size)"
    ),
    "jump stays 1": (lambda chain: (receptive_field_and_jump(chain)[0], 1), "product of the strides"),
    "a dict": (lambda chain: {"field": receptive_field_and_jump(chain)[0], "jump": 1}, "two numbers"),
}


def test_receptive_field_and_jump(capsys):
    fails_with(lesson06.check_receptive_field_and_jump, blank, "Not implemented yet")
    passes(lesson06.check_receptive_field_and_jump, receptive_field_and_jump, capsys)
    passes(lesson06.check_receptive_field_and_jump, lambda c: list(receptive_field_and_jump(c)), capsys)


@pytest.mark.parametrize("mistake", sorted(FIELD_MISTAKES))
def test_receptive_field_mistakes(mistake):
    function, phrase = FIELD_MISTAKES[mistake]
    fails_with(lesson06.check_receptive_field_and_jump, function, phrase)


# --- exercise 2: coverage -----------------------------------------------------------------------------
def coverage(kernel_size, stride, length):
    counts = np.zeros(length, dtype=int)
    for start in range(0, length - kernel_size + 1, stride):
        counts[start : start + kernel_size] += 1
    return counts


def _partial(kernel_size, stride, length):
    counts = np.zeros(length, dtype=int)
    for start in range(0, length, stride):
        counts[start : start + kernel_size] += 1
    return counts


def _starts(starts, kernel_size, length):
    counts = np.zeros(length, dtype=int)
    for start in starts:
        counts[start : start + kernel_size] += 1
    return counts


COVERAGE_MISTAKES = {
    "ignores stride": (lambda k, s, n: coverage(k, 1, n), "ignoring the stride"),
    "windows off the end": (_partial, "run off the end"),
    "too short": (lambda k, s, n: coverage(max(k - 1, 0), s, n), "too short"),
    "too long": (lambda k, s, n: coverage(k + 1, s, n), "too long"),
    "wrong shape": (lambda k, s, n: coverage(k, s, n)[:-1], "shape"),
    "no return": (lambda k, s, n: None, "return"),
    "last window missing": (lambda k, s, n: _starts(range(0, n - k, s), k, n), "last window is missing"),
    "windows start at 1": (lambda k, s, n: _starts(range(1, n - k + 1, s), k, n), "start at 1"),
    "kernel_size and stride swapped": (lambda k, s, n: coverage(s, k, n), "swapped kernel_size and stride"),
    "covered or not": (lambda k, s, n: coverage(k, s, n) > 0, "True/False"),
    "the number of windows": (lambda k, s, n: len(range(0, n - k + 1, s)), "one number"),
    "one value per window": (lambda k, s, n: np.ones(len(range(0, n - k + 1, s)), int), "per *window*"),
    "'same' padding": (lambda k, s, n: coverage(k, s, n + k - 1)[(k - 1) // 2 : (k - 1) // 2 + n], "padded"),
    "n // stride windows": (lambda k, s, n: _starts([i * s for i in range(n // s)], k, n), "run off the end"),
}


def test_coverage(capsys):
    fails_with(lesson06.check_coverage, blank, "Not implemented yet")
    passes(lesson06.check_coverage, coverage, capsys)
    passes(lesson06.check_coverage, lambda k, s, n: coverage(k, s, n).astype(float), capsys)


@pytest.mark.parametrize("mistake", sorted(COVERAGE_MISTAKES))
def test_coverage_mistakes(mistake):
    function, phrase = COVERAGE_MISTAKES[mistake]
    fails_with(lesson06.check_coverage, function, phrase)


def test_coverage_matches_the_library_map():
    """The library's 2-D map (all-ones k x k kernel) is the outer product of two 1-D coverage maps."""
    from deepdream_lib.lessons.architectures import coverage_map

    for kernel_size in (1, 2, 3, 4):
        line = coverage(kernel_size, 2, 24)[kernel_size : 24 - kernel_size]
        assert np.array_equal(coverage_map(kernel_size, 2, size=24), np.outer(line, line))


# --- exercise 3: conv_cost -----------------------------------------------------------------------------
def conv_cost(kernel_size, c_in, c_out, height, width, separable=False):
    if separable:
        weights = kernel_size * kernel_size * c_in + c_in * c_out
    else:
        weights = kernel_size * kernel_size * c_in * c_out
    return weights, weights * height * width


def _with_bias(k, ci, co, h, w, separable=False):
    weights, _ = conv_cost(k, ci, co, h, w, separable)
    return weights + co, (weights + co) * h * w


def _as_plain(k, ci, co, h, w, separable=False):
    return conv_cost(k, ci, co, h, w)


def _depthwise_only(k, ci, co, h, w, separable=False):
    return (k * k * ci, k * k * ci * h * w) if separable else conv_cost(k, ci, co, h, w)


def _depthwise_per_output(k, ci, co, h, w, separable=False):
    weights = k * k * ci * co + ci * co
    return (weights, weights * h * w) if separable else conv_cost(k, ci, co, h, w)


def _macs_equal_weights(k, ci, co, h, w, separable=False):
    weights, _ = conv_cost(k, ci, co, h, w, separable)
    return weights, weights


def _plain_slip(weights_of):
    def cost(k, ci, co, h, w, separable=False):
        if separable:
            return conv_cost(k, ci, co, h, w, True)
        weights = weights_of(k, ci, co)
        return weights, weights * h * w

    return cost


def _depthwise_out(k, ci, co, h, w, separable=False):
    weights = k * k * co + ci * co
    return (weights, weights * h * w) if separable else conv_cost(k, ci, co, h, w)


def _pointwise_k2(k, ci, co, h, w, separable=False):
    weights = k * k * ci + k * k * ci * co
    return (weights, weights * h * w) if separable else conv_cost(k, ci, co, h, w)


def _macs(macs_of):
    def cost(k, ci, co, h, w, separable=False):
        weights, _ = conv_cost(k, ci, co, h, w, separable)
        return weights, macs_of(weights, k, h, w)

    return cost


COST_MISTAKES = {
    "separable like plain": (_as_plain, "like a plain one"),
    "depthwise only": (_depthwise_only, "only the depthwise part"),
    "depthwise per output": (_depthwise_per_output, "per *input* channel"),
    "biases counted": (_with_bias, "biases"),
    "macs not times positions": (_macs_equal_weights, "once per output position"),
    "no return": (lambda *args, **kwargs: None, "return"),
    "(multiply_adds, weights)": (
        lambda *args, separable=False: conv_cost(*args, separable)[::-1], "(multiply_adds"
    ),
    "k not squared": (_plain_slip(lambda k, ci, co: k * ci * co), "k * k weights for each pair"),
    "one filter": (_plain_slip(lambda k, ci, co: k * k * ci), "one filter"),
    "depthwise per output channel": (_depthwise_out, "one per *input* channel"),
    "pointwise with k * k": (_pointwise_k2, "no k * k"),
    "k * k again": (_macs(lambda w, k, h, wd: w * h * wd * k * k), "k * k again"),
    "input positions": (_macs(lambda w, k, h, wd: w * (h + k - 1) * (wd + k - 1)), "input's positions"),
    "height only": (_macs(lambda w, k, h, wd: w * h), "height only"),
}


def test_conv_cost(capsys):
    fails_with(lesson06.check_conv_cost, blank, "Not implemented yet")
    passes(lesson06.check_conv_cost, conv_cost, capsys)


@pytest.mark.parametrize("mistake", sorted(COST_MISTAKES))
def test_conv_cost_mistakes(mistake):
    function, phrase = COST_MISTAKES[mistake]
    fails_with(lesson06.check_conv_cost, function, phrase)


def test_conv_cost_agrees_with_the_library():
    from deepdream_lib.lessons.architectures import conv_cost as library_cost

    for separable in (False, True):
        assert conv_cost(3, 24, 40, 7, 5, separable) == library_cost(3, 24, 40, 7, 5, separable=separable)
