"""The lesson 05 checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from checkcases import blank, fails_with, passes
from deepdream_lib.course.checks import lesson05


# --- exercise 1: total_variation ----------------------------------------------------------------------
def _down(x):
    return np.asarray(x)[:, 1:] - np.asarray(x)[:, :-1]


def _across(x):
    return np.asarray(x)[:, :, 1:] - np.asarray(x)[:, :, :-1]


def total_variation(images):
    return np.abs(_down(images)).mean(axis=(1, 2, 3)) + np.abs(_across(images)).mean(axis=(1, 2, 3))


def _tv_tensorflow(images):
    images = tf.convert_to_tensor(images, tf.float32)
    down = tf.abs(images[:, 1:] - images[:, :-1])
    across = tf.abs(images[:, :, 1:] - images[:, :, :-1])
    return tf.reduce_mean(down, axis=[1, 2, 3]) + tf.reduce_mean(across, axis=[1, 2, 3])


def _rolled(images):
    x = np.asarray(images)
    down = np.abs(np.roll(x, -1, axis=1) - x)[:, :-1]  # rows are fine, columns wrap around
    across = np.abs(np.roll(x, -1, axis=2) - x)
    return down.mean(axis=(1, 2, 3)) + across.mean(axis=(1, 2, 3))


TV_MISTAKES = {
    "horizontal only": (lambda x: np.abs(_across(x)).mean(axis=(1, 2, 3)), "forgot one direction"),
    "vertical only": (lambda x: np.abs(_down(x)).mean(axis=(1, 2, 3)), "forgot one direction"),
    "squared": (
        lambda x: np.square(_down(x)).mean(axis=(1, 2, 3)) + np.square(_across(x)).mean(axis=(1, 2, 3)),
        "squared",
    ),
    "summed": (
        lambda x: np.abs(_down(x)).sum(axis=(1, 2, 3)) + np.abs(_across(x)).sum(axis=(1, 2, 3)),
        "summed",
    ),
    "averaged directions": (lambda x: total_variation(x) / 2, "averaged the two directions"),
    "whole batch": (lambda x: np.abs(_down(x)).mean() + np.abs(_across(x)).mean(), "one value per image"),
    "wraps around": (_rolled, "wrap around"),
    "no return": (lambda x: None, "return"),
    "per colour": (
        lambda x: np.abs(_down(x)).mean(axis=(1, 2)) + np.abs(_across(x)).mean(axis=(1, 2)), "*and colour*"
    ),
    "no absolute value": (
        lambda x: _down(x).mean(axis=(1, 2, 3)) + _across(x).mean(axis=(1, 2, 3)), "absolute value"
    ),
    "isotropic": (
        lambda x: np.sqrt(_down(x)[:, :, :-1] ** 2 + _across(x)[:, :-1] ** 2).mean(axis=(1, 2, 3)),
        "isotropic",
    ),
    "channels first": (
        lambda x: sum(np.abs(np.diff(x, axis=axis)).mean(axis=(1, 2, 3)) for axis in (2, 3)),
        "axes 2 and 3",
    ),
    "divided by the pixels": (
        lambda x: (np.abs(_down(x)).sum(axis=(1, 2, 3)) + np.abs(_across(x)).sum(axis=(1, 2, 3))) / x[0].size,
        "number of pixels",
    ),
    "tf.image.total_variation": (
        lambda x: tf.image.total_variation(tf.convert_to_tensor(x)), "tf.image.total_variation sums"
    ),
}


def test_total_variation(capsys):
    fails_with(lesson05.check_total_variation, blank, "Not implemented yet")
    passes(lesson05.check_total_variation, total_variation, capsys)
    passes(lesson05.check_total_variation, _tv_tensorflow, capsys)


@pytest.mark.parametrize("mistake", sorted(TV_MISTAKES))
def test_total_variation_diagnoses(mistake):
    function, phrase = TV_MISTAKES[mistake]
    fails_with(lesson05.check_total_variation, function, phrase)


# --- exercise 2: one_over_f_scale ----------------------------------------------------------------------
def _frequency(height, width, rfft=True, square_root=True):
    fx = np.fft.rfftfreq(width) if rfft else np.fft.fftfreq(width)
    f2 = np.fft.fftfreq(height)[:, None] ** 2 + fx[None, :] ** 2
    return np.sqrt(f2) if square_root else f2


def one_over_f_scale(height, width, decay_power=1.0):
    return 1.0 / np.maximum(_frequency(height, width), 1.0 / max(height, width)) ** decay_power


def _cycles_per_image(height, width, decay_power=1.0):
    fy, fx = np.fft.fftfreq(height, 1.0 / height), np.fft.rfftfreq(width, 1.0 / width)
    frequency = np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    return 1.0 / np.maximum(frequency, 1.0 / max(height, width)) ** decay_power


SCALE_MISTAKES = {
    "full grid": (
        lambda h, w, p=1.0: 1.0 / np.maximum(_frequency(h, w, rfft=False), 1.0 / max(h, w)) ** p,
        "full FFT grid",
    ),
    "no floor": (lambda h, w, p=1.0: 1.0 / _frequency(h, w) ** p, "inf or nan"),
    "multiplies": (
        lambda h, w, p=1.0: np.maximum(_frequency(h, w), 1.0 / max(h, w)) ** p,
        "grows with frequency",
    ),
    "no square root": (
        lambda h, w, p=1.0: 1.0 / np.maximum(_frequency(h, w, square_root=False), 1.0 / max(h, w)) ** p,
        "square root",
    ),
    "swapped": (lambda h, w, p=1.0: one_over_f_scale(w, h, p), "swapped height and width"),
    "ignores decay_power": (lambda h, w, p=1.0: one_over_f_scale(h, w, 1.0), "decay_power=2"),
    "tiny floor": (lambda h, w, p=1.0: 1.0 / np.maximum(_frequency(h, w), 1e-6) ** p, "frequency 0"),
    "floor of the shorter side": (
        lambda h, w, p=1.0: 1.0 / np.maximum(_frequency(h, w), 1.0 / min(h, w)) ** p, "1 / min(H, W)"
    ),
    "floor after the power": (
        lambda h, w, p=1.0: 1.0 / np.maximum(_frequency(h, w) ** p, 1.0 / max(h, w)), "floored f ** 2"
    ),
    "cycles per image": (_cycles_per_image, "cycles per *image*"),
    "meshgrid with indexing='xy'": (
        lambda h, w, p=1.0: 1.0 / np.maximum(
            np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.rfftfreq(w))), 1.0 / max(h, w)
        ) ** p,
        "indexing='xy'",
    ),
    "floor added": (lambda h, w, p=1.0: 1.0 / (_frequency(h, w) + 1.0 / max(h, w)) ** p, "added the floor"),
    "rescaled": (lambda h, w, p=1.0: one_over_f_scale(h, w, p) / one_over_f_scale(h, w, p).max(), "rescaled"),
    "floor of 1": (lambda h, w, p=1.0: 1.0 / np.maximum(_frequency(h, w), 1.0) ** p, "floor is 1,"),
}


def test_one_over_f_scale(capsys):
    fails_with(lesson05.check_one_over_f_scale, blank, "Not implemented yet")
    passes(lesson05.check_one_over_f_scale, one_over_f_scale, capsys)
    # fftfreq(W) cut to W // 2 + 1 columns has the same squared frequencies: right too
    cut = lambda h, w, p=1.0: 1.0 / np.maximum(  # noqa: E731
        np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, : w // 2 + 1] ** 2), 1.0 / max(h, w)
    ) ** p
    passes(lesson05.check_one_over_f_scale, cut, capsys)


@pytest.mark.parametrize("mistake", sorted(SCALE_MISTAKES))
def test_one_over_f_scale_diagnoses(mistake):
    function, phrase = SCALE_MISTAKES[mistake]
    with np.errstate(divide="ignore"):
        fails_with(lesson05.check_one_over_f_scale, function, phrase)


# --- exercise 3: jitter ----------------------------------------------------------------------
def jitter(distance):
    rng = np.random.default_rng(0)

    def transform(images):
        height, width = images.shape[1], images.shape[2]
        dy, dx = (int(v) for v in rng.integers(0, distance + 1, size=2))
        return images[:, dy : dy + height - distance, dx : dx + width - distance, :]

    return transform


def _frozen(distance):
    dy, dx = np.random.default_rng(0).integers(0, distance + 1, size=2)  # drawn once, outside

    def transform(images):
        return images[:, dy : dy + images.shape[1] - distance, dx : dx + images.shape[2] - distance]

    return transform


def _rolls(distance):
    rng = np.random.default_rng(0)
    return lambda images: tf.roll(images, [int(v) for v in rng.integers(0, distance + 1, 2)], axis=[1, 2])


def _same_offset(distance):
    rng = np.random.default_rng(0)

    def transform(images):
        d = int(rng.integers(0, distance + 1))
        return images[:, d : d + images.shape[1] - distance, d : d + images.shape[2] - distance]

    return transform


def _exclusive(distance):
    rng = np.random.default_rng(0)

    def transform(images):
        dy, dx = (int(v) for v in rng.integers(0, max(distance, 1), size=2))  # never the last offset
        return images[:, dy : dy + images.shape[1] - distance, dx : dx + images.shape[2] - distance]

    return transform


def _numpy(distance):
    inner = jitter(distance)
    return lambda images: inner(images.numpy())


def _from_both_ends(distance):
    rng = np.random.default_rng(0)

    def transform(images):
        dy, dx = (int(v) for v in rng.integers(0, distance + 1, size=2))
        return images[:, dy : images.shape[1] - dy, dx : images.shape[2] - dx]  # the size follows the offset

    return transform


def _reseeded(distance):
    def transform(images):
        dy, dx = (int(v) for v in np.random.default_rng(0).integers(0, distance + 1, size=2))
        return images[:, dy : dy + images.shape[1] - distance, dx : dx + images.shape[2] - distance]

    return transform


def _cut(amount):
    """A jitter whose crop is ``amount(distance)`` pixels smaller, not ``distance``."""

    def make(distance):
        rng = np.random.default_rng(0)

        def transform(images):
            cut = amount(distance)
            dy, dx = (int(v) for v in rng.integers(0, distance + 1, size=2))
            return images[:, dy : dy + images.shape[1] - cut, dx : dx + images.shape[2] - cut]

        return transform

    return make


JITTER_MISTAKES = {
    "size follows the offset": (_from_both_ends, "different sizes"),
    "generator seeded at each call": (_reseeded, "seeded inside the transform"),
    "distance from both ends": (_cut(lambda d: 2 * d), "2 * distance"),
    "window one pixel short": (_cut(lambda d: d + 1), "no - 1"),
    "fixed distance": (_cut(lambda d: 5), "use the distance argument"),
    "frozen offset": (_frozen, "same window"),
    "rolls": (_rolls, "you rolled or padded"),
    "same offset for rows and columns": (_same_offset, "same amount"),
    "never the largest offset": (_exclusive, "inclusive"),
    "leaves TensorFlow": (_numpy, "No gradient"),
    "returns nothing": (lambda distance: None, "returned None"),
    "returns the images": (lambda distance: np.zeros((2, 9, 11, 3)), "must return a function"),
}


def test_jitter(capsys):
    fails_with(lesson05.check_jitter, lambda distance: blank, "Not implemented yet")
    passes(lesson05.check_jitter, jitter, capsys)
    from deepdream_lib.regularizers import jitter as library_jitter

    passes(lesson05.check_jitter, library_jitter, capsys)


@pytest.mark.parametrize("mistake", sorted(JITTER_MISTAKES))
def test_jitter_diagnoses(mistake):
    function, phrase = JITTER_MISTAKES[mistake]
    fails_with(lesson05.check_jitter, function, phrase)
