"""Checks for the exercises of lesson 08, "Dreams as art".

Each check builds a small synthetic image whose pixels say where they are (red = x, green = y) or what
colour they have, so a wrong crop or a swapped colour transfer shows up as numbers: a crop that is not
centred, a zoom that is not resized back, height and width swapped, brightness taken from the wrong
image, values left outside [0, 1]. The zoom-planning check catches a linear instead of an exponential
zoom and rounding the wrong way.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array
from deepdream_lib.lessons import art


def _coordinates(height: int = 40, width: int = 60) -> np.ndarray:
    """An image whose red channel is x / (W - 1) and green channel y / (H - 1); blue is 0.5."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([xs / (width - 1), ys / (height - 1), np.full_like(xs, 0.5)], axis=-1)


# --- exercise 1: zoom into the centre --------------------------------------------------------------


def _zoomed(center_zoom: Callable, image: np.ndarray, zoom: float) -> np.ndarray:
    """The learner's zoom of ``image``, checked for its type, size and for leaving the input alone."""
    height, width = image.shape[:2]
    original = image.copy()
    result = returned_array(center_zoom(image, zoom), "center_zoom")
    expect(
        np.array_equal(image, original), "Your function changed the input image in place; return a new one."
    )
    if result.shape == (1, *image.shape):
        raise CheckFailed(
            f"Your result has shape {result.shape}: a batch of one image, as tf.image.resize returns it for "
            "crop[None]. Take that one image, [0], so the frame is (H, W, 3) like the input."
        )
    if result.shape == (width, height, 3):
        raise CheckFailed(
            f"Height and width are swapped: got {result.shape}, expected {image.shape}. Resize functions "
            "differ: tf.image.resize takes (height, width), PIL's resize takes (width, height)."
        )
    if zoom != 1 and result.shape[:2] == (round(height / zoom), round(width / zoom)):
        raise CheckFailed(
            f"Your result is {result.shape[1]}x{result.shape[0]}: you cropped but did not resize back to "
            f"{width}x{height}. Every frame of a video must have the same size."
        )
    expect(
        result.shape == image.shape, f"Wrong shape {result.shape}: expected {image.shape}, like the input."
    )
    if result.max() > 2.0:
        raise CheckFailed(
            f"Your pixels reach {result.max():.0f}: you returned 8-bit values (0 to 255). The frame must "
            "stay a float image in [0, 1], like the input."
        )
    return result


def _shown_part(result: np.ndarray, image: np.ndarray, zoom: float) -> None:
    """Which part of the input does the output show? The red (x) and green (y) ramps tell."""
    x_span = result[..., 0].min(), result[..., 0].max()
    y_span = result[..., 1].min(), result[..., 1].max()
    width_shown = x_span[1] - x_span[0]
    if abs(np.mean(x_span) - 0.5) > 0.08 or abs(np.mean(y_span) - 0.5) > 0.08:
        raise CheckFailed(
            f"With zoom={zoom} your crop is not centred: the output shows x from {x_span[0]:.2f} to "
            f"{x_span[1]:.2f} and y from {y_span[0]:.2f} to {y_span[1]:.2f} of the input (0 = left/top, "
            "1 = right/bottom). Cut the same margin on both sides: top = (H - crop_h) // 2."
        )
    if width_shown > 0.9:
        raise CheckFailed(
            f"With zoom={zoom} the output should show the middle {1 / zoom:.0%} of the input; yours shows "
            f"{width_shown:.0%} of its width. Crop H / zoom by W / zoom pixels (not H * zoom, not H - zoom), "
            "then resize that crop back; shrinking the whole image and enlarging it again only blurs it."
        )
    expect(
        abs(width_shown - 1 / zoom) < 0.1,
        f"With zoom={zoom} the output should show {1 / zoom:.0%} of the input's width; yours shows "
        f"{width_shown:.0%}.",
    )
    error = float(np.abs(result - art.zoom_crop(image, zoom)).mean())
    expect(
        error < 0.03, f"Your zoom differs from a centred crop + resize by {error:.3f} per pixel on average."
    )


@check("center_zoom crops the centre 1/zoom of each side and resizes it back to (H, W)")
def check_center_zoom(center_zoom: Callable) -> None:
    image = _coordinates()
    result = _zoomed(center_zoom, image, 2.0)
    _shown_part(result, image, 2.0)
    # another zoom: its crop must follow the zoom, and stay centred (the margin is (H - crop) // 2)
    other = _zoomed(center_zoom, image, 1.5)
    if np.allclose(other, result, atol=1e-3):
        raise CheckFailed(
            "With zoom=1.5 your frame is the same as with zoom=2: use the zoom argument, not a number of "
            "your own."
        )
    _shown_part(other, image, 1.5)
    same = _zoomed(center_zoom, image, 1.0)
    expect(
        np.abs(same - image).mean() < 0.01,
        "center_zoom(image, 1.0) should give the image back unchanged (no zoom).",
    )


# --- exercise 2: keep the original's colours -------------------------------------------------------


def _colour_case() -> tuple[np.ndarray, np.ndarray]:
    """A colourful 'original' and a differently coloured, differently lit 'dream' (16 x 16)."""
    rng = np.random.default_rng(8)
    ys, xs = np.mgrid[0:16, 0:16] / 15.0
    original = np.stack([0.2 + 0.6 * xs, 0.3 + 0.4 * ys, 0.7 - 0.5 * xs], axis=-1)
    dream = np.stack([0.5 + 0.3 * np.sin(6 * ys), 0.6 - 0.4 * xs * ys, 0.3 + 0.2 * ys], axis=-1)
    dream = dream + rng.normal(0.0, 0.03, dream.shape)
    return np.clip(original, 0, 1).astype(np.float32), np.clip(dream, 0, 1).astype(np.float32)


def _ycbcr_back(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """The exercise's conversion back to RGB (not clipped)."""
    red, blue = y + 1.403 * cr, y + 1.773 * cb
    return np.stack([red, (y - 0.299 * red - 0.114 * blue) / 0.587, blue], axis=-1)


def _colour_mistakes(original: np.ndarray, dream: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Colour transfers gone wrong in the usual ways, each with its diagnosis."""
    y_dream, y_original = art.luminance(dream), art.luminance(original)
    cb, cr = 0.564 * (original[..., 2] - y_original), 0.713 * (original[..., 0] - y_original)
    right = _ycbcr_back(y_dream, cb, cr)
    green_kept = right.copy()
    green_kept[..., 1] = original[..., 1]
    hsv = tf.image.rgb_to_hsv(original).numpy()
    hsv[..., 2] = tf.image.rgb_to_hsv(dream).numpy()[..., 2]
    return [
        (_ycbcr_back(y_dream, 0.564 * (original[..., 2] - y_dream), 0.713 * (original[..., 0] - y_dream)),
         "You computed Cb and Cr with the dream's brightness. They are the *original's* colour "
         "differences: Cb = 0.564 (B - Y) and Cr = 0.713 (R - Y) with the original's Y and B, R."),
        (right[..., ::-1], "Your channels come out as B, G, R: stack them in the order R, G, B."),
        (green_kept, "You kept the original's green. Compute G from the new brightness: "
         "G = (Y - 0.299 R - 0.114 B) / 0.587, with the new R and B."),
        (original + (dream.mean(axis=-1) - original.mean(axis=-1))[..., None], "You measured brightness as "
         "the plain mean of R, G and B. The eye weighs the colours differently: Y = 0.299 R + 0.587 G + "
         "0.114 B."),
        (original * (y_dream / np.maximum(y_original, 1e-6))[..., None], "You scaled the original by "
         "Y_dream / Y_original. That keeps the hue but changes the saturation (the colour differences grow "
         "with it); keep Cb and Cr as they are and only replace Y."),
        (tf.image.hsv_to_rgb(hsv).numpy(), "You took the dream's V of HSV (its largest channel), not its "
         "brightness Y. Use YCbCr as the exercise says: Y = 0.299 R + 0.587 G + 0.114 B from the dream."),
        ((original + dream) / 2, "You averaged the two images: that mixes both colours and both "
         "brightnesses. Take only Y from the dream and only Cb, Cr from the original."),
    ]


@check("preserve_colors takes the brightness from the dream and the colour from the original")
def check_preserve_colors(preserve_colors: Callable) -> None:
    original, dream = _colour_case()
    result = returned_array(preserve_colors(original.copy(), dream.copy()), "preserve_colors")
    expect(
        result.shape == dream.shape, f"Wrong shape {result.shape}: expected {dream.shape}, like the dream."
    )
    if np.allclose(result, dream, atol=1e-3):
        raise CheckFailed("You returned the dream unchanged: replace its colour (Cb, Cr) by the original's.")
    if np.allclose(result, original, atol=1e-3):
        raise CheckFailed(
            "You returned the original: the result must keep the dream's brightness (luminance)."
        )
    expected = art.preserve_colors(original, dream)
    luma_error = float(np.abs(art.luminance(result) - art.luminance(dream)).mean())
    chroma_error = float(
        np.abs(art.rgb_to_ycbcr(result)[..., 1:] - art.rgb_to_ycbcr(original)[..., 1:]).mean()
    )
    swapped = art.ycbcr_to_rgb(
        np.concatenate([art.rgb_to_ycbcr(original)[..., :1], art.rgb_to_ycbcr(dream)[..., 1:]], axis=-1)
    )
    if np.abs(result - np.clip(swapped, 0, 1)).mean() < 0.01:
        raise CheckFailed(
            "You swapped the roles: your result has the original's brightness and the dream's colours. "
            "Take Y "
            "(luminance) from the dream and Cb, Cr (colour) from the original."
        )
    for candidate, message in _colour_mistakes(original, dream):
        candidate = np.clip(candidate, 0.0, 1.0)
        if np.abs(result - candidate).mean() < 0.005 and np.abs(candidate - expected).mean() > 0.02:
            raise CheckFailed(message)
    expect(
        luma_error < 0.02,
        f"The brightness of your result differs from the dream's by {luma_error:.3f} on average; take "
        "Y = 0.299 R + 0.587 G + 0.114 B from the dream.",
    )
    expect(
        chroma_error < 0.02,
        f"The colour (Cb, Cr) of your result differs from the original's by {chroma_error:.3f} on average; "
        "keep the original's Cb and Cr.",
    )
    expect(
        float(np.abs(result - expected).mean()) < 0.02,
        "Close, but your result differs from Y_dream + CbCr_original.",
    )
    # a bright dream over a saturated colour leaves the RGB cube: the result must be clipped
    red = np.zeros((4, 4, 3), np.float32)
    red[..., 0] = 1.0
    white = np.ones((4, 4, 3), np.float32)
    bright = returned_array(preserve_colors(red, white), "preserve_colors")
    expect(
        bright.min() >= -1e-6 and bright.max() <= 1 + 1e-6,
        f"Your result has values from {bright.min():.2f} to {bright.max():.2f}: a bright dream on a "
        "saturated "
        "colour leaves [0, 1]. Clip the result to [0, 1].",
    )


# --- exercise 3: how many frames for a given magnification ----------------------------------------


FRAME_CASES = [(1.05, 2.0, 15), (1.05, 10.0, 48), (1.2, 2.0, 4), (1.1, 1.1, 1), (1.02, 100.0, 233)]


def _frames(zoom: float, magnification: float) -> float:
    """The exact (not whole) number of frames: log(magnification) / log(zoom)."""
    return math.log(magnification) / math.log(zoom)


# Whole answers gone wrong (over all the cases at once), each with its diagnosis.
FRAME_MISTAKES: list[tuple[Callable[[float, float], int], str]] = [
    (lambda z, m: math.ceil((m - 1) / (z - 1)),
     "Your numbers grow like (magnification - 1) / (zoom - 1): that treats the zoom as adding zoom - 1 of "
     "the *original* size each frame. It multiplies: after k frames the magnification is zoom**k, so "
     "k = log(magnification) / log(zoom)."),
    (lambda z, m: math.floor(_frames(z, m) + 1e-9) + 1,
     "You return one frame too many when zoom**k lands exactly on the magnification (1.1**1 = 1.1 "
     "already reaches 1.1): the smallest k with zoom**k >= magnification, not >."),
    (lambda z, m: math.ceil(_frames(z, m)) + 1,
     "Every answer is one frame too many: math.ceil already gives the smallest whole k with "
     "zoom**k >= magnification; do not add 1."),
    (lambda z, m: math.ceil(math.log(m)),
     "You returned ceil(log(magnification)): divide by log(zoom), k = log(magnification) / log(zoom), "
     "then round up."),
    (lambda z, m: math.ceil(math.log(z) / math.log(m)),
     "Your ratio is upside down: k = log(magnification) / log(zoom), not log(zoom) / log(magnification)."),
]


@check("frames_needed gives the smallest number of frames whose zoom z**k reaches the magnification")
def check_frames_needed(frames_needed: Callable) -> None:
    answers = []
    for zoom, magnification, _ in FRAME_CASES:
        result = frames_needed(zoom, magnification)
        if result is None:
            raise CheckFailed("frames_needed returned None: did you forget the `return`?")
        if not isinstance(result, (int, np.integer)) or isinstance(result, bool):
            if isinstance(result, (float, np.floating)) and abs(result - _frames(zoom, magnification)) < 1e-6:
                raise CheckFailed(
                    f"frames_needed({zoom}, {magnification}) returned {result:.3f}, the exact solution of "
                    "zoom**k = magnification; a video has a whole number of frames: round *up* (math.ceil)."
                )
            raise CheckFailed(
                f"frames_needed({zoom}, {magnification}) returned a {type(result).__name__}; return an int."
            )
        answers.append(int(result))
    if answers == [expected for *_, expected in FRAME_CASES]:
        return
    for mistake, message in FRAME_MISTAKES:
        if answers == [mistake(zoom, magnification) for zoom, magnification, _ in FRAME_CASES]:
            raise CheckFailed(message)
    for (zoom, magnification, expected), result in zip(FRAME_CASES, answers, strict=True):
        if result == expected - 1:
            raise CheckFailed(
                f"frames_needed({zoom}, {magnification}) = {result}, one short: {zoom}**{result} = "
                f"{zoom ** result:.3f} is still below {magnification}. Round up (math.ceil), not down."
            )
        expect(
            result == expected,
            f"frames_needed({zoom}, {magnification}) returned {result}, expected {expected} "
            f"(the smallest k with {zoom}**k >= {magnification}).",
        )
