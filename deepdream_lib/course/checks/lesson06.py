"""Checks for the exercises of lesson 06, "Architectures compared".

Each check runs the learner's function on a few small, hand-computed cases and diagnoses the usual
mistakes: a receptive field that forgets the jump or updates it too early, a coverage map that ignores
the stride or counts windows that run off the edge, a separable convolution counted without its 1x1 part.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array

# --- exercise 1: receptive field and jump -------------------------------------------------------------------


def _field_and_jump(chain: list[tuple[int, int]]) -> tuple[int, int]:
    field, jump = 1, 1
    for kernel_size, stride in chain:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field, jump


def _jump_first(chain: list[tuple[int, int]]) -> tuple[int, int]:
    field, jump = 1, 1
    for kernel_size, stride in chain:
        jump *= stride
        field += (kernel_size - 1) * jump
    return field, jump


def _no_jump(chain: list[tuple[int, int]]) -> tuple[int, int]:
    return 1 + sum(k - 1 for k, _ in chain), int(np.prod([s for _, s in chain]))


FIELD_CASES = [
    [(3, 1), (3, 1)],  # two 3x3 convolutions: 5
    [(7, 2), (3, 2)],  # ResNet's stem: 11, jump 4
    [(3, 2), (3, 1), (3, 1)],  # Inception-like stem start: 1 + 2 + 2*2 + 2*2 = 11, jump 2
    [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1)],  # VGG up to block3_conv1: 24, jump 4
    [(1, 2), (3, 1)],  # a 1x1 stride-2 layer, then a 3x3: 5, jump 2
]


def _pair(value: object) -> tuple[int, int]:
    if value is None:
        raise CheckFailed("receptive_field_and_jump returned None: did you forget the `return`?")
    try:
        field, jump = value  # type: ignore[misc]
        return int(field), int(jump)
    except (TypeError, ValueError):
        raise CheckFailed(
            f"receptive_field_and_jump must return two numbers, (field, jump); it returned {value!r}."
        ) from None


def _whole_kernel(chain: list[tuple[int, int]]) -> tuple[int, int]:
    field, jump = 1, 1
    for kernel_size, stride in chain:
        field += kernel_size * jump
        jump *= stride
    return field, jump


def _kernels_multiplied(chain: list[tuple[int, int]]) -> tuple[int, int]:
    return int(np.prod([k for k, _ in chain])), int(np.prod([s for _, s in chain]))


# Whole recurrences gone wrong, each with its diagnosis (checked on all the cases at once).
CHAIN_MISTAKES: list[tuple[Callable[[list[tuple[int, int]]], tuple[int, int]], str]] = [
    (lambda chain: _field_and_jump(chain)[::-1],
     "You returned (jump, field); return them in the order asked for, (field, jump)."),
    (_whole_kernel,
     "Each layer added k * jump; it adds (k - 1) * jump. A 3x3 kernel widens what a unit sees by 2 "
     "pixels (one on each side), not 3: two 3x3 convolutions see 5 pixels."),
    (_kernels_multiplied,
     "You multiplied the kernel sizes; a field grows by *adding* (k - 1) * jump per layer: two 3x3 "
     "convolutions see 5 pixels, not 9."),
    (lambda chain: _field_and_jump(chain[::-1]),
     "You went through the chain from the last layer to the first. The list is first layer first, and "
     "the jump at a layer is the product of the strides *before* it: loop over `chain` in order."),
    (lambda chain: _field_and_jump([(s, k) for k, s in chain]),
     "You read each pair as (stride, kernel_size); it is (kernel_size, stride): "
     "for kernel_size, stride in chain."),
]


@check("receptive_field_and_jump follows r += (k - 1) * jump, then jump *= stride")
def check_receptive_field_and_jump(receptive_field_and_jump: Callable) -> None:
    field, jump = _pair(receptive_field_and_jump([]))
    expect(
        (field, jump) == (1, 1),
        f"An empty chain (the image itself) must give (1, 1): one pixel, jump 1. You returned "
        f"({field}, {jump}); start from r = 1 and jump = 1.",
    )
    answers = [_pair(receptive_field_and_jump(list(chain))) for chain in FIELD_CASES]
    for mistake, message in CHAIN_MISTAKES:
        if answers != [_field_and_jump(chain) for chain in FIELD_CASES] and answers == [
            mistake(list(chain)) for chain in FIELD_CASES
        ]:
            raise CheckFailed(message)
    for chain in FIELD_CASES:
        answer = _pair(receptive_field_and_jump(list(chain)))
        expected = _field_and_jump(chain)
        if answer == expected:
            continue
        if answer == _jump_first(chain):
            raise CheckFailed(
                f"For {chain} you gave {answer}, expected {expected}: you multiply the jump by the stride "
                "before using it. A layer's kernel spans steps of its *input* grid, so use the old jump "
                "first (r += (k - 1) * jump), then update it (jump *= s)."
            )
        if answer == _no_jump(chain):
            raise CheckFailed(
                f"For {chain} you gave {answer}, expected {expected}: you add k - 1 for every layer, but "
                "after a stride-s layer one step of the grid is s input pixels: add (k - 1) * jump."
            )
        if answer[0] == expected[0] - 1:
            raise CheckFailed(
                f"For {chain} you gave {answer}, expected {expected}: off by one. Start from r = 1 (one "
                "pixel sees itself), not 0."
            )
        if answer[0] == expected[0] and answer[1] != expected[1]:
            raise CheckFailed(
                f"For {chain} the field {answer[0]} is right but the jump {answer[1]} is not "
                f"({expected[1]}): the jump is the product of the strides."
            )
        raise CheckFailed(f"For the chain {chain} you gave {answer}; the answer is {expected}.")


# --- exercise 2: 1-D coverage map --------------------------------------------------------------------------


def _coverage(kernel_size: int, stride: int, length: int) -> np.ndarray:
    counts = np.zeros(length, dtype=int)
    for start in range(0, length - kernel_size + 1, stride):
        counts[start : start + kernel_size] += 1
    return counts


def _coverage_no_stride(kernel_size: int, stride: int, length: int) -> np.ndarray:
    return _coverage(kernel_size, 1, length)


def _coverage_partial(kernel_size: int, stride: int, length: int) -> np.ndarray:
    counts = np.zeros(length, dtype=int)
    for start in range(0, length, stride):
        counts[start : start + kernel_size] += 1
    return counts


def _coverage_from(starts: range, kernel_size: int, length: int) -> np.ndarray:
    counts = np.zeros(length, dtype=int)
    for start in starts:
        counts[start : start + kernel_size] += 1
    return counts


def _diagnose_coverage(answer: np.ndarray, kernel_size: int, stride: int, length: int) -> None:
    """Name the mistake of a coverage count whose windows start in the wrong places."""
    case = f"coverage({kernel_size}, {stride}, {length})"
    last, pad = length - kernel_size, (kernel_size - 1) // 2
    mistakes = [
        (_coverage_from(range(0, last, stride), kernel_size, length),
         f"{case}: your last window is missing. range(0, length - kernel_size, stride) stops one short; a "
         "window may start at length - kernel_size too: range(0, length - kernel_size + 1, stride)."),
        (_coverage_from(range(1, last + 1, stride), kernel_size, length),
         f"{case}: your windows start at 1; the first one starts at pixel 0."),
        (_coverage(stride, kernel_size, length),
         f"{case}: you swapped kernel_size and stride: windows are kernel_size wide and start stride apart."),
        (_coverage(kernel_size, stride, length + kernel_size - 1)[pad : pad + length],
         f"{case}: you padded the signal ('same' padding), so windows start before pixel 0. With 'valid' "
         "padding every window lies inside the signal: the first starts at 0."),
    ]
    for candidate, message in mistakes:
        if np.array_equal(answer, candidate):
            raise CheckFailed(message)


COVERAGE_CASES = [(3, 2, 11), (4, 2, 12), (2, 2, 8), (1, 2, 7), (3, 1, 9), (5, 3, 14)]


@check("coverage counts, for each pixel, the stride-spaced windows that contain it")
def check_coverage(coverage: Callable) -> None:
    for kernel_size, stride, length in COVERAGE_CASES:
        answer = returned_array(coverage(kernel_size, stride, length), "coverage", dtype=None)
        expected = _coverage(kernel_size, stride, length)
        case = f"coverage({kernel_size}, {stride}, {length})"
        if answer.shape != expected.shape:
            windows = len(range(0, length - kernel_size + 1, stride))
            what = {(): "one number (the number of windows?)", (windows,): "one value per *window*"}.get(
                answer.shape, f"shape {answer.shape}"
            )
            raise CheckFailed(
                f"{case} gave {what}; it must be one count per input pixel, shape ({length},): how many "
                "windows contain each pixel."
            )
        if np.array_equal(answer, expected):
            continue
        if answer.dtype == bool:
            raise CheckFailed(
                f"{case} gave True/False values: whether a pixel is covered, not how often. Count the "
                "windows: start from zeros (dtype=int) and add 1 to each window's slice."
            )
        _diagnose_coverage(answer, kernel_size, stride, length)
        if np.array_equal(answer, _coverage_no_stride(kernel_size, stride, length)):
            raise CheckFailed(
                f"{case}: you start a window at every pixel, ignoring the stride. Windows start at 0, "
                f"stride, 2 * stride, ... ({expected.tolist()})."
            )
        if np.array_equal(answer, _coverage_partial(kernel_size, stride, length)):
            raise CheckFailed(
                f"{case}: you count windows that run off the end. With 'valid' padding a window must fit "
                f"inside the image: the last one starts at {length - kernel_size} or before "
                f"({expected.tolist()})."
            )
        if kernel_size > 1 and np.array_equal(answer, _coverage(kernel_size - 1, stride, length)):
            raise CheckFailed(f"{case}: your windows are one pixel too short (kernel_size - 1 pixels).")
        if np.array_equal(answer, _coverage(kernel_size + 1, stride, length)):
            raise CheckFailed(f"{case}: your windows are one pixel too long (kernel_size + 1 pixels).")
        raise CheckFailed(f"{case} gave {answer.tolist()}; expected {expected.tolist()}.")


# --- exercise 3: cost of a convolution ---------------------------------------------------------------------


def _cost(
    kernel_size: int, c_in: int, c_out: int, height: int, width: int, separable: bool
) -> tuple[int, int]:
    if separable:
        weights = kernel_size * kernel_size * c_in + c_in * c_out
    else:
        weights = kernel_size * kernel_size * c_in * c_out
    return weights, weights * height * width


def _diagnose_cost(answer: tuple[int, int], case: tuple[int, ...], separable: bool) -> None:
    """Name the mistake of a (weights, multiply-adds) count, by comparing with the usual slips."""
    k, c_in, c_out, height, width = case
    call = f"conv_cost{case + (separable,)}"
    weights, macs = _cost(*case, separable)
    if answer == (macs, weights):
        raise CheckFailed(f"{call}: you returned (multiply_adds, weights); return (weights, multiply_adds).")
    plain_slips = [
        (k * c_in * c_out, "that is k * C_in * C_out, but a k x k kernel has k * k weights for each pair of "
         "channels"),
        (k * k * c_in, "that is k * k * C_in, one filter; a plain convolution has one such filter per "
         "*output* channel, k * k * C_in * C_out"),
    ]
    separable_slips = [
        (k * k * c_out + c_in * c_out, "that is k*k*C_out + C_in*C_out, but the depthwise filters are one "
         "per *input* channel, k*k*C_in"),
        (k * k * c_in + k * k * c_in * c_out, "the pointwise part is a 1x1 convolution, C_in * C_out "
         "weights, with no k * k"),
    ]
    for wrong, why in separable_slips if separable else plain_slips:
        if answer[0] == wrong != weights:
            raise CheckFailed(f"{call}: {wrong} weights: {why}.")
    if answer[0] == weights:
        mac_slips = [
            (weights * height * width * k * k, "you multiplied by k * k again: the weights already count "
             "the kernel, so multiply-adds = weights * height * width"),
            (weights * (height + k - 1) * (width + k - 1), "you counted the input's positions; height and "
             "width are the *output's*: multiply-adds = weights * height * width"),
            (weights * height, "you multiplied by the height only: multiply-adds = weights * height * width"),
            (weights * width, "you multiplied by the width only: multiply-adds = weights * height * width"),
        ]
        for wrong, why in mac_slips:
            if answer[1] == wrong:
                raise CheckFailed(f"{call}: weights {weights} right, multiply-adds {answer[1]}: {why}.")


COST_CASES = [(3, 32, 64, 8, 8), (3, 256, 256, 28, 28), (5, 16, 24, 7, 9), (1, 8, 16, 4, 4)]


@check("conv_cost counts weights and multiply-adds of plain and depthwise-separable convolutions")
def check_conv_cost(conv_cost: Callable) -> None:
    for case in COST_CASES:
        kernel_size, c_in, c_out, height, width = case
        for separable in (False, True):
            value = conv_cost(*case, separable=separable)
            if value is None:
                raise CheckFailed("conv_cost returned None: did you forget the `return`?")
            try:
                weights, macs = (int(v) for v in value)
            except (TypeError, ValueError):
                raise CheckFailed(
                    f"conv_cost must return (weights, multiply_adds); it returned {value!r}."
                ) from None
            expected = _cost(*case, separable)
            call = f"conv_cost{case + (separable,)}"
            if (weights, macs) == expected:
                continue
            _diagnose_cost((weights, macs), case, separable)
            plain = _cost(*case, False)
            if separable and weights == plain[0]:
                raise CheckFailed(
                    f"{call}: you counted the separable convolution like a plain one ({weights} weights). It "
                    f"is a k x k filter per input channel (k*k*C_in) plus a 1x1 convolution (C_in*C_out)."
                )
            if separable and weights == kernel_size * kernel_size * c_in:
                raise CheckFailed(
                    f"{call}: {weights} weights is only the depthwise part; add the 1x1 convolution that "
                    "mixes the channels, C_in * C_out."
                )
            if separable and weights == kernel_size * kernel_size * c_in * c_out + c_in * c_out:
                raise CheckFailed(
                    f"{call}: the depthwise part has one k x k filter per *input* channel: k*k*C_in."
                )
            if weights == expected[0] + c_out:
                raise CheckFailed(f"{call}: leave the biases out ({c_out} of them): count only the weights.")
            if weights == expected[0] and macs == weights:
                raise CheckFailed(
                    f"{call}: each weight is used once per output position, so multiply-adds = weights * "
                    "height * width."
                )
            if weights == expected[0]:
                raise CheckFailed(
                    f"{call}: weights {weights} right, multiply-adds {macs} should be {expected[1]}."
                )
            raise CheckFailed(f"{call} gave ({weights}, {macs}); expected {expected}.")
