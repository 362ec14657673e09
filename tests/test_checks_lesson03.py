"""The lesson 03 checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from checkcases import blank, fails_with, passes
from deepdream_lib.course.checks import lesson03
from deepdream_lib.engine import octave_sizes as library_octave_sizes


# --- exercise 1: octave_sizes ------------------------------------------------------------------------------
def octave_sizes(height, width, num_octaves, octave_scale):
    return [(round(height / octave_scale**k), round(width / octave_scale**k))
            for k in range(num_octaves - 1, -1, -1)]


SIZE_MISTAKES = {
    "largest first": (lambda h, w, n, r: octave_sizes(h, w, n, r)[::-1], "wrong order"),
    "not integers": (
        lambda h, w, n, r: [(h / r**k, w / r**k) for k in range(n - 1, -1, -1)], "not integers"
    ),
    "truncated": (lambda h, w, n, r: [(int(h / r**k), int(w / r**k)) for k in range(n - 1, -1, -1)], "int()"),
    "one too many": (
        lambda h, w, n, r: [(round(h / r**k), round(w / r**k)) for k in range(n, -1, -1)], "range"
    ),
    "one too few": (lambda h, w, n, r: octave_sizes(h, w, n, r)[1:], "range"),
    "multiplies": (lambda h, w, n, r: [(round(h * r**k), round(w * r**k)) for k in range(n)], "divide"),
    "swapped": (lambda h, w, n, r: [(b, a) for a, b in octave_sizes(h, w, n, r)], "swapped"),
    "floats of the right value": (
        lambda h, w, n, r: [(float(a), float(b)) for a, b in octave_sizes(h, w, n, r)], "not of type int"
    ),
    "starts at k = n": (
        lambda h, w, n, r: [(round(h / r**k), round(w / r**k)) for k in range(n, 0, -1)], "own size"
    ),
    "no return": (lambda h, w, n, r: None, "return"),
    "floor division": (
        lambda h, w, n, r: [(h // r**k, w // r**k) for k in range(n - 1, -1, -1)], "rounded down"
    ),
    "rounds up": (
        lambda h, w, n, r: [(math.ceil(h / r**k), math.ceil(w / r**k)) for k in range(n - 1, -1, -1)],
        "rounded up",
    ),
    "height for both sides": (
        lambda h, w, n, r: [(round(h / r**k), round(h / r**k)) for k in range(n - 1, -1, -1)],
        "height for both",
    ),
    "fixed octave_scale": (lambda h, w, n, r: octave_sizes(h, w, n, 1.4), "octave_scale = 1.4"),
    "fixed number of octaves": (lambda h, w, n, r: octave_sizes(h, w, 3, r), "whatever num_octaves"),
    "divides by r * k": (
        lambda h, w, n, r: [(round(h / (r * k)), round(w / (r * k))) for k in range(n - 1, -1, -1)],
        "octave_scale ** k",
    ),
}


def test_octave_sizes(capsys):
    fails_with(lesson03.check_octave_sizes, blank, "Not implemented yet")
    passes(lesson03.check_octave_sizes, octave_sizes, capsys)
    # the library's own function agrees with the reference (it only adds a minimum-size error)
    assert library_octave_sizes(300, 451, 4, 1.5) == lesson03.reference_octave_sizes(300, 451, 4, 1.5)
    as_numpy = lambda h, w, n, r: [tuple(s) for s in np.array(octave_sizes(h, w, n, r))]  # noqa: E731
    passes(lesson03.check_octave_sizes, as_numpy, capsys)  # numpy integers are integers
    as_generator = lambda h, w, n, r: (size for size in octave_sizes(h, w, n, r))  # noqa: E731
    passes(lesson03.check_octave_sizes, as_generator, capsys)


@pytest.mark.parametrize("mistake", sorted(SIZE_MISTAKES))
def test_octave_sizes_diagnoses(mistake):
    function, phrase = SIZE_MISTAKES[mistake]
    fails_with(lesson03.check_octave_sizes, function, phrase)


# --- exercise 2: jittered_gradient -------------------------------------------------------------------------
def jittered_gradient(gradient_fn, image, shift):
    rolled = tf.roll(image, shift, axis=[1, 2])
    return tf.roll(gradient_fn(rolled), [-s for s in shift], axis=[1, 2])


def _numpy_answer(gradient_fn, image, shift):
    rolled = np.roll(np.asarray(image), shift, axis=(1, 2))
    return np.roll(np.asarray(gradient_fn(rolled)), (-shift[0], -shift[1]), axis=(1, 2))


JITTER_MISTAKES = {
    "forgot to un-roll": (lambda f, x, s: f(tf.roll(x, s, axis=[1, 2])), "forgot to un-roll"),
    "un-rolls the same way": (
        lambda f, x, s: tf.roll(f(tf.roll(x, s, axis=[1, 2])), s, axis=[1, 2]), "same way again"
    ),
    "no roll at all": (lambda f, x, s: f(x), "nothing was rolled"),
    "only rolls the gradient": (
        lambda f, x, s: tf.roll(f(x), [-v for v in s], axis=[1, 2]), "only rolled the gradient"
    ),
    "wrong axes": (
        lambda f, x, s: tf.roll(f(tf.roll(x, s, axis=[0, 1])), [-v for v in s], axis=[0, 1]), "axis=[1, 2]"
    ),
    "wrong shape": (lambda f, x, s: jittered_gradient(f, x, s)[0], "Wrong shape"),
    "no return": (lambda f, x, s: None, "return"),
    "(dx, dy) instead of (dy, dx)": (
        lambda f, x, s: tf.roll(f(tf.roll(x, s[::-1], axis=[1, 2])), [-s[1], -s[0]], axis=[1, 2]),
        "by (-5, 3) and the gradient back by (5, -3)",
    ),
    "only one part negated": (
        lambda f, x, s: tf.roll(f(tf.roll(x, s, axis=[1, 2])), [-s[0], s[1]], axis=[1, 2]),
        "back by (-3, -5)",
    ),
    "rolls the rows only": (
        lambda f, x, s: tf.roll(f(tf.roll(x, s[0], axis=1)), -s[0], axis=1), "by (3, 0) and the gradient"
    ),
    "-shift of a tuple": (lambda f, x, s: tf.roll(f(tf.roll(x, s, axis=[1, 2])), -s, axis=[1, 2]), "tuple"),
    "axes 2, 3": (
        lambda f, x, s: tf.roll(f(tf.roll(x, s, axis=[2, 3])), [-v for v in s], axis=[2, 3]), "axis=[1, 2]"
    ),
}


def test_jittered_gradient(capsys):
    fails_with(lesson03.check_jittered_gradient, blank, "Not implemented yet")
    passes(lesson03.check_jittered_gradient, jittered_gradient, capsys)
    passes(lesson03.check_jittered_gradient, _numpy_answer, capsys)


@pytest.mark.parametrize("mistake", sorted(JITTER_MISTAKES))
def test_jittered_gradient_diagnoses(mistake):
    function, phrase = JITTER_MISTAKES[mistake]
    fails_with(lesson03.check_jittered_gradient, function, phrase)


# --- exercise 3: detail_octaves ----------------------------------------------------------------------------
def detail_octaves(image, sizes, dream_at, resize):
    base = resize(image, sizes[0])
    current = base
    for index, size in enumerate(sizes):
        if index > 0:
            detail = resize(current - base, size)
            base = resize(image, size)
            current = base + detail
        current = dream_at(current)
    return current


def _stale_base(image, sizes, dream_at, resize):
    base = resize(image, sizes[0])
    current = base
    for index, size in enumerate(sizes):
        if index > 0:
            detail = resize(current - base, size)
            base = resize(base, size)  # the blurred small copy, enlarged: not a sharp copy of the original
            current = base + detail
        current = dream_at(current)
    return current


def _skips_first(image, sizes, dream_at, resize):
    base = resize(image, sizes[0])
    current = base
    for size in sizes[1:]:
        detail = resize(current - base, size)
        base = resize(image, size)
        current = dream_at(base + detail)
    return current


def _no_detail(image, sizes, dream_at, resize):
    current = resize(image, sizes[0])
    for index, size in enumerate(sizes):
        if index > 0:
            current = resize(image, size)  # the dream of the smaller octave is dropped
        current = dream_at(current)
    return current


def _base_is_the_dream(image, sizes, dream_at, resize):
    base = resize(image, sizes[0])
    current = base
    for index, size in enumerate(sizes):
        if index > 0:
            detail = resize(current - base, size)
            base = resize(image, size)
            current = base + detail
        current = dream_at(current)
        base = current  # "base = previous dream": the detail current - base is 0 from then on
    return current


def _enlarged_dream_as_base(image, sizes, dream_at, resize):
    base = resize(image, sizes[0])
    current = base
    for index, size in enumerate(sizes):
        if index > 0:
            detail = resize(current - base, size)
            base = resize(current, size)
            current = base + detail
        current = dream_at(current)
    return current


def _base_first(image, sizes, dream_at, resize):
    base = resize(image, sizes[0])
    current = base
    for index, size in enumerate(sizes):
        if index > 0:
            base = resize(image, size)  # replaced before the detail is taken: sizes differ
            current = base + resize(current - base, size)
        current = dream_at(current)
    return current


def _clips(image, sizes, dream_at, resize):
    base = resize(image, sizes[0])
    current = base
    for index, size in enumerate(sizes):
        if index > 0:
            detail = resize(current - base, size)
            base = resize(image, size)
            current = np.clip(base + detail, 0.0, 1.0)
        current = dream_at(current)
    return current


def _own_resize(image, sizes, dream_at, resize):
    nearest = lambda x, size: tf.image.resize(x[None], size, method="nearest").numpy()[0]  # noqa: E731
    return detail_octaves(image, sizes, dream_at, nearest)


def _only_the_detail(image, sizes, dream_at, resize):
    return detail_octaves(image, sizes, dream_at, resize) - resize(image, sizes[-1])


DETAIL_MISTAKES = {
    "forgot the detail": (_no_detail, "dropped the dream"),
    "base = previous dream": (_base_is_the_dream, "dropped the dream"),
    "enlarged dream as base": (_enlarged_dream_as_base, "enlarged *dream*"),
    "base replaced first": (_base_first, "different sizes"),
    "clips between octaves": (_clips, "clipped"),
    "own resize": (_own_resize, "never called the `resize`"),
    "returns the detail": (_only_the_detail, "only the detail"),
    "resize mode": (lesson03._resize_octaves, "resize* mode"),
    "largest first": (lambda x, s, d, r: detail_octaves(x, s[::-1], d, r), "largest octave first"),
    "skips the first octave": (_skips_first, "once per octave"),
    "base from the small copy": (_stale_base, "resize* mode"),  # the same thing, in effect
    "whole dream added": (lesson03._whole_dream_added, "counted twice"),
    "no return": (lambda x, s, d, r: None, "return"),
}


def test_detail_octaves(capsys):
    fails_with(lesson03.check_detail_octaves, blank, "Not implemented yet")
    passes(lesson03.check_detail_octaves, detail_octaves, capsys)
    passes(lesson03.check_detail_octaves, lesson03.reference_detail_octaves, capsys)


@pytest.mark.parametrize("mistake", sorted(DETAIL_MISTAKES))
def test_detail_octaves_diagnoses(mistake):
    function, phrase = DETAIL_MISTAKES[mistake]
    fails_with(lesson03.check_detail_octaves, function, phrase)
