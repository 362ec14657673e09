"""Lesson 08's checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from checkcases import passes, table_tests
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


def _zoom_with(crop_side=lambda side, zoom: round(side / zoom), margin=lambda side, crop: (side - crop) // 2):
    def zoom_frame(image, zoom):
        height, width = image.shape[:2]
        crop_h, crop_w = min(height, crop_side(height, zoom)), min(width, crop_side(width, zoom))
        top, left = margin(height, crop_h), margin(width, crop_w)
        crop = image[top : top + crop_h, left : left + crop_w]
        return tf.image.resize(crop[None], (height, width)).numpy()[0]

    return zoom_frame


def center_zoom_in_place(image, zoom):
    image[...] = center_zoom(image, zoom)
    return image


def center_zoom_shrunk(image, zoom):
    height, width = image.shape[:2]
    small = tf.image.resize(image[None], (round(height / zoom), round(width / zoom)))
    return tf.image.resize(small, (height, width)).numpy()[0]


def center_zoom_batch(image, zoom):
    return center_zoom(image, zoom)[None]


def center_zoom_fixed(image, zoom):
    return center_zoom(image, 2.0)


def center_zoom_8bit(image, zoom):
    return (center_zoom(image, zoom) * 255).astype(np.uint8)


LUMA = np.array([0.299, 0.587, 0.114])


def _back(y, cb, cr):
    red, blue = y + 1.403 * cr, y + 1.773 * cb
    return np.clip(np.stack([red, (y - 0.299 * red - 0.114 * blue) / 0.587, blue], axis=-1), 0, 1)


def preserve_colors_dream_luma_in_cbcr(original, dream):
    y = dream @ LUMA
    return _back(y, 0.564 * (original[..., 2] - y), 0.713 * (original[..., 0] - y))


def preserve_colors_bgr(original, dream):
    return preserve_colors(original, dream)[..., ::-1]


def preserve_colors_green_kept(original, dream):
    result = preserve_colors(original, dream)
    result[..., 1] = original[..., 1]
    return result


def preserve_colors_plain_mean(original, dream):
    return np.clip(original + (dream.mean(axis=-1) - original.mean(axis=-1))[..., None], 0, 1)


def preserve_colors_ratio(original, dream):
    return np.clip(original * ((dream @ LUMA) / (original @ LUMA))[..., None], 0, 1)


def preserve_colors_hsv(original, dream):
    hsv = tf.image.rgb_to_hsv(original).numpy()
    hsv[..., 2] = tf.image.rgb_to_hsv(dream).numpy()[..., 2]
    return tf.image.hsv_to_rgb(hsv).numpy()


def preserve_colors_average(original, dream):
    return (original + dream) / 2


def frames_needed_strict(zoom, magnification):
    frames = 0
    while zoom**frames <= magnification:  # > instead of >=: one too many when it lands exactly
        frames += 1
    return frames


def frames_needed_plus_one(zoom, magnification):
    return math.ceil(math.log(magnification) / math.log(zoom)) + 1


def frames_needed_upside_down(zoom, magnification):
    return math.ceil(math.log(zoom) / math.log(magnification))


def frames_needed_no_zoom(zoom, magnification):
    return math.ceil(math.log(magnification))


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
        (_zoom_with(crop_side=lambda side, zoom: round(side * zoom)), "not H * zoom"),
        (_zoom_with(crop_side=lambda side, zoom: round(side - zoom)), "not H - zoom"),
        (_zoom_with(margin=lambda side, crop: crop // 2), "With zoom=1.5 your crop is not centred"),
        (center_zoom_shrunk, "only blurs it"),
        (center_zoom_in_place, "in place"),
        (center_zoom_batch, "batch of one image"),
        (center_zoom_fixed, "use the zoom argument"),
        (center_zoom_8bit, "8-bit"),
    ]),
    (lesson08.check_preserve_colors, preserve_colors, [
        (preserve_colors_swapped, "swapped the roles"),
        (preserve_colors_unclipped, "Clip the result"),
        (preserve_colors_identity, "dream unchanged"),
        (preserve_colors_dream_luma_in_cbcr, "with the dream's brightness"),
        (preserve_colors_bgr, "B, G, R"),
        (preserve_colors_green_kept, "kept the original's green"),
        (preserve_colors_plain_mean, "plain mean"),
        (preserve_colors_ratio, "saturation"),
        (preserve_colors_hsv, "HSV"),
        (preserve_colors_average, "averaged the two images"),
    ]),
    (lesson08.check_frames_needed, frames_needed, [
        (frames_needed_linear, "It multiplies"),
        (frames_needed_floor, "one short"),
        (frames_needed_float, "round *up*"),
        (frames_needed_strict, "lands exactly"),
        (frames_needed_plus_one, "do not add 1"),
        (frames_needed_upside_down, "upside down"),
        (frames_needed_no_zoom, "divide by log(zoom)"),
    ]),
]


test_blank_exercise_fails, test_solution_passes, test_typical_mistake_is_diagnosed = table_tests(CASES)


def test_other_right_answers_pass(capsys):
    """Right answers written another way pass too: TensorFlow's central crop and YUV, log10, log(x, base)."""
    central = lambda x, z: tf.image.resize(tf.image.central_crop(x, 1 / z)[None], x.shape[:2]).numpy()[0]  # noqa: E731
    passes(lesson08.check_center_zoom, central, capsys)

    def yuv(original, dream):
        luma, colour = tf.image.rgb_to_yuv(dream)[..., :1], tf.image.rgb_to_yuv(original)[..., 1:]
        return tf.clip_by_value(tf.image.yuv_to_rgb(tf.concat([luma, colour], -1)), 0.0, 1.0).numpy()

    passes(lesson08.check_preserve_colors, yuv, capsys)
    passes(lesson08.check_frames_needed, lambda z, m: math.ceil(math.log10(m) / math.log10(z)), capsys)
    passes(lesson08.check_frames_needed, lambda z, m: math.ceil(math.log(m, z)), capsys)
