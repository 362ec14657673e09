"""Checks for the exercises of lesson 08, "Dreams as art".

Each check builds a small synthetic image whose pixels say where they are (red = x, green = y) or what
colour they have, so a wrong crop or a swapped colour transfer shows up as numbers: a crop that is not
centred, a zoom that is not resized back, height and width swapped, brightness taken from the wrong
image, values left outside [0, 1]. The zoom-planning check catches a linear instead of an exponential
zoom and rounding the wrong way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array
from deepdream_lib.lessons import art


def _coordinates(height: int = 40, width: int = 60) -> np.ndarray:
    """An image whose red channel is x / (W - 1) and green channel y / (H - 1); blue is 0.5."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([xs / (width - 1), ys / (height - 1), np.full_like(xs, 0.5)], axis=-1)


# --- exercise 1: zoom into the centre --------------------------------------------------------------


@check("center_zoom crops the centre 1/zoom of each side and resizes it back to (H, W)")
def check_center_zoom(center_zoom: Callable) -> None:
    image = _coordinates()
    height, width = image.shape[:2]
    zoom = 2.0
    original = image.copy()
    result = returned_array(center_zoom(image, zoom), "center_zoom")
    expect(
        np.array_equal(image, original), "Your function changed the input image in place; return a new one."
    )
    if result.shape == (width, height, 3):
        raise CheckFailed(
            f"Height and width are swapped: got {result.shape}, expected {image.shape}. Resize "
            "functions differ: "
            "tf.image.resize takes (height, width), PIL's resize takes (width, height)."
        )
    if result.shape[:2] == (round(height / zoom), round(width / zoom)):
        raise CheckFailed(
            f"Your result is {result.shape[1]}x{result.shape[0]}: you cropped but did not resize back to "
            f"{width}x{height}. Every frame of a video must have the same size."
        )
    expect(
        result.shape == image.shape, f"Wrong shape {result.shape}: expected {image.shape}, like the input."
    )
    # which part of the input does the output show? the red/green ramps tell us
    x_span = result[..., 0].min(), result[..., 0].max()
    y_span = result[..., 1].min(), result[..., 1].max()
    centre_x, centre_y = np.mean(x_span), np.mean(y_span)
    if abs(centre_x - 0.5) > 0.08 or abs(centre_y - 0.5) > 0.08:
        raise CheckFailed(
            f"Your crop is not centred: the output shows x from {x_span[0]:.2f} to {x_span[1]:.2f} and "
            "y from "
            f"{y_span[0]:.2f} to {y_span[1]:.2f} of the input (0 = left/top, 1 = right/bottom). Cut the same "
            "margin on both sides: top = (H - crop_h) // 2."
        )
    width_shown = x_span[1] - x_span[0]
    if width_shown > 0.9:
        raise CheckFailed(
            "With zoom=2 the output should show the middle half of the input; yours shows "
            f"{width_shown:.0%} of "
            "its width. Crop H / zoom by W / zoom pixels (not H * zoom, not H - zoom)."
        )
    expect(
        abs(width_shown - 1 / zoom) < 0.1,
        f"With zoom=2 the output should show {1 / zoom:.0%} of the input's width; yours shows "
        f"{width_shown:.0%}.",
    )
    expected = art.zoom_crop(image, zoom)
    error = float(np.abs(result - expected).mean())
    expect(
        error < 0.03, f"Your zoom differs from a centred crop + resize by {error:.3f} per pixel on average."
    )
    same = returned_array(center_zoom(image, 1.0), "center_zoom")
    expect(
        same.shape == image.shape and np.abs(same - image).mean() < 0.01,
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


@check("frames_needed gives the smallest number of frames whose zoom z**k reaches the magnification")
def check_frames_needed(frames_needed: Callable) -> None:
    cases = [(1.05, 2.0, 15), (1.05, 10.0, 48), (1.2, 2.0, 4), (1.1, 1.1, 1), (1.02, 100.0, 233)]
    for zoom, magnification, expected in cases:
        result = frames_needed(zoom, magnification)
        if result is None:
            raise CheckFailed("frames_needed returned None: did you forget the `return`?")
        if not isinstance(result, (int, np.integer)) or isinstance(result, bool):
            exact = np.log(magnification) / np.log(zoom)
            if isinstance(result, (float, np.floating)) and abs(result - exact) < 1e-6:
                raise CheckFailed(
                    f"frames_needed({zoom}, {magnification}) returned {result:.3f}, the exact solution of "
                    "zoom**k = magnification; a video has a whole number of frames: round *up* (math.ceil)."
                )
            raise CheckFailed(
                f"frames_needed({zoom}, {magnification}) returned a {type(result).__name__}; return an int."
            )
        linear = (magnification - 1) / (zoom - 1)
        if result != expected and abs(result - linear) <= 1:
            raise CheckFailed(
                f"frames_needed({zoom}, {magnification}) = {result}: that treats the zoom as adding "
                f"{zoom - 1:.2f} of the *original* size each frame. It multiplies: after k frames the "
                "magnification is zoom**k, so k = log(magnification) / log(zoom)."
            )
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
