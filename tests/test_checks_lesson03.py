"""The lesson 03 checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

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
}


def test_octave_sizes(capsys):
    fails_with(lesson03.check_octave_sizes, blank, "Not implemented yet")
    passes(lesson03.check_octave_sizes, octave_sizes, capsys)
    # the library's own function agrees with the reference (it only adds a minimum-size error)
    assert library_octave_sizes(300, 451, 4, 1.5) == lesson03.reference_octave_sizes(300, 451, 4, 1.5)
    as_numpy = lambda h, w, n, r: [tuple(s) for s in np.array(octave_sizes(h, w, n, r))]  # noqa: E731
    passes(lesson03.check_octave_sizes, as_numpy, capsys)  # numpy integers are integers


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


DETAIL_MISTAKES = {
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
