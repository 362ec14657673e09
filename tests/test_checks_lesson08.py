"""Lesson 08's checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from checkcases import table_tests
from deepdream_lib.course.checks import lesson08


# --- solutions ---------------------------------------------------------------------------------------
def center_zoom(image, zoom):
    height, width = image.shape[:2]
    crop_h, crop_w = round(height / zoom), round(width / zoom)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    crop = image[top : top + crop_h, left : left + crop_w]
    return tf.image.resize(crop[None], (height, width)).numpy()[0]


def preserve_colors(original, dream):
    luma = np.array([0.299, 0.587, 0.114])
    y_dream = dream @ luma
    y_original = original @ luma
    cb = (original[..., 2] - y_original) * 0.564
    cr = (original[..., 0] - y_original) * 0.713
    red = y_dream + 1.403 * cr
    blue = y_dream + 1.773 * cb
    green = (y_dream - 0.299 * red - 0.114 * blue) / 0.587
    return np.clip(np.stack([red, green, blue], axis=-1), 0, 1)


def frames_needed(zoom, magnification):
    return math.ceil(math.log(magnification) / math.log(zoom))


# --- typical mistakes --------------------------------------------------------------------------------
def center_zoom_corner(image, zoom):
    height, width = image.shape[:2]
    crop = image[: round(height / zoom), : round(width / zoom)]
    return tf.image.resize(crop[None], (height, width)).numpy()[0]


def center_zoom_no_resize(image, zoom):
    height, width = image.shape[:2]
    crop_h, crop_w = round(height / zoom), round(width / zoom)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return image[top : top + crop_h, left : left + crop_w]


def center_zoom_swapped(image, zoom):
    height, width = image.shape[:2]
    crop_h, crop_w = round(height / zoom), round(width / zoom)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    crop = image[top : top + crop_h, left : left + crop_w]
    return tf.image.resize(crop[None], (width, height)).numpy()[0]


def preserve_colors_swapped(original, dream):
    return preserve_colors(dream, original)


def preserve_colors_unclipped(original, dream):
    luma = np.array([0.299, 0.587, 0.114])
    y_dream, y_original = dream @ luma, original @ luma
    return original + (y_dream - y_original)[..., None]  # shifts brightness, never clips


def preserve_colors_identity(original, dream):
    return dream


def frames_needed_linear(zoom, magnification):
    return math.ceil((magnification - 1) / (zoom - 1))


def frames_needed_floor(zoom, magnification):
    return int(math.log(magnification) / math.log(zoom))


def frames_needed_float(zoom, magnification):
    return math.log(magnification) / math.log(zoom)


CASES = [
    (lesson08.check_center_zoom, center_zoom, [
        (center_zoom_corner, "not centred"),
        (center_zoom_no_resize, "did not resize back"),
        (center_zoom_swapped, "swapped"),
    ]),
    (lesson08.check_preserve_colors, preserve_colors, [
        (preserve_colors_swapped, "swapped the roles"),
        (preserve_colors_unclipped, "Clip the result"),
        (preserve_colors_identity, "dream unchanged"),
    ]),
    (lesson08.check_frames_needed, frames_needed, [
        (frames_needed_linear, "It multiplies"),
        (frames_needed_floor, "one short"),
        (frames_needed_float, "round \\*up\\*"),
    ]),
]


test_blank_exercise_fails, test_solution_passes, test_typical_mistake_is_diagnosed = table_tests(CASES)
