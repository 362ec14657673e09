"""Checks for the exercises of lesson 05, "Why dreams turn into noise, and how to stop it".

Each check builds tiny images (checkerboards, stripes, ramps, random arrays), runs the learner's function
and diagnoses the usual mistakes: a total variation that forgets one direction, squares the differences,
sums instead of averaging or wraps around the border; a 1/f scale that boosts high frequencies or
divides by zero at the centre; a jitter that never moves, keeps the size, or cannot be differentiated.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array


def _rgb(gray: np.ndarray, batch: int = 1) -> np.ndarray:
    return np.repeat(np.repeat(gray.astype(np.float32)[None, :, :, None], 3, axis=-1), batch, axis=0)


# --- exercise 1: total variation ----------------------------------------------------------------------------


def _tv_variants(x: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Total variations gone wrong, on a (B, H, W, C) batch, each with its diagnosis."""
    down, across = x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]
    pixels = x[0].size
    return [
        (np.abs(np.diff(x, axis=2)).mean(axis=(1, 2, 3)) + np.abs(np.diff(x, axis=3)).mean(axis=(1, 2, 3)),
         "You took differences along axes 2 and 3 (width and colour), as if the images were (B, C, H, W). "
         "They are (B, H, W, 3): vertical neighbours differ along axis 1, horizontal ones along axis 2."),
        (down.mean(axis=(1, 2, 3)) + across.mean(axis=(1, 2, 3)),
         "You forgot the absolute value: differences up and down cancel in the mean (a checkerboard would "
         "get 0). Take np.abs (or tf.abs) of the differences before averaging."),
        (np.sqrt(down[:, :, :-1] ** 2 + across[:, :-1] ** 2).mean(axis=(1, 2, 3)),
         "You took sqrt(vertical**2 + horizontal**2) at each pixel (the isotropic total variation). This "
         "exercise adds the two mean absolute differences: a 0/1 checkerboard gives 1 + 1 = 2."),
        (np.abs(down).sum(axis=(1, 2, 3)) / pixels + np.abs(across).sum(axis=(1, 2, 3)) / pixels,
         "You divided the sums by the number of pixels; there are fewer differences than pixels (H - 1 rows "
         "of vertical ones, W - 1 columns of horizontal ones). Take the mean of each set of differences."),
    ]


def _diagnose_tv_variants(total_variation: Callable) -> None:
    """Compare the learner's total variation of a random batch with the usual wrong versions."""
    batch = np.random.default_rng(6).uniform(size=(2, 6, 7, 3)).astype(np.float32)
    values = returned_array(total_variation(batch), "total_variation")
    x = batch.astype(np.float64)
    right = np.abs(np.diff(x, axis=1)).mean(axis=(1, 2, 3)) + np.abs(np.diff(x, axis=2)).mean(axis=(1, 2, 3))
    for candidate, message in _tv_variants(x):
        if values.shape == candidate.shape and np.allclose(values, candidate, atol=1e-5) and not np.allclose(
            candidate, right, atol=1e-5
        ):
            raise CheckFailed(message)


@check(
    "total_variation adds the mean absolute difference of vertical and of horizontal neighbours, per image"
)
def check_total_variation(total_variation: Callable) -> None:
    rows, cols = np.mgrid[0:8, 0:10]
    vertical_stripes = _rgb(cols % 2)  # only horizontal neighbours differ
    horizontal_stripes = _rgb(rows % 2)  # only vertical neighbours differ
    board = _rgb((rows + cols) % 2)

    value = returned_array(total_variation(board), "total_variation")
    if value.ndim == 0:
        raise CheckFailed(
            "You returned one number; return one value per image, shape (B,): average over height, width "
            "and colour (axes 1, 2, 3), not over the batch."
        )
    if value.shape == (1, 3):
        raise CheckFailed(
            "Wrong shape (1, 3): one value per image *and colour*. Average over the colour channels too "
            "(axes 1, 2, 3), for one value per image, shape (B,)."
        )
    if value.shape != (1,):
        raise CheckFailed(f"Wrong shape {value.shape}: for a batch of 1 image the result has shape (1,).")
    _diagnose_tv_variants(total_variation)
    across = float(returned_array(total_variation(vertical_stripes), "total_variation")[0])
    down = float(returned_array(total_variation(horizontal_stripes), "total_variation")[0])
    if across == 0 or down == 0:
        which = "horizontal (x[:, :, j+1] - x[:, :, j])" if across == 0 else "vertical (x[:, i+1] - x[:, i])"
        raise CheckFailed(
            f"You forgot one direction: stripes that change only between {which.split()[0]} neighbours gave "
            f"total variation 0. Add the {which} differences too."
        )
    if value[0] > 10:
        raise CheckFailed(
            f"A 0/1 checkerboard gave {value[0]:.0f}: you summed the differences (tf.image.total_variation "
            "sums, too). Take their mean, so the value does not grow with the image size (it should be 2: 1 "
            "across plus 1 down)."
        )
    if abs(value[0] - 1.0) < 1e-4:
        raise CheckFailed(
            "A 0/1 checkerboard gave 1: you averaged the two directions. Add them: mean |vertical "
            "difference| + mean |horizontal difference| = 1 + 1 = 2."
        )
    half = float(returned_array(total_variation(0.5 * board), "total_variation")[0])
    if abs(half - 0.5) < 1e-4:
        raise CheckFailed(
            "A checkerboard of jumps 0.5 gave 0.5, not 1.0: you squared the differences. As documented, take "
            "their absolute value (squares punish big jumps and let many small ones through)."
        )
    ramp = _rgb(np.tile(np.linspace(0.0, 1.0, 10, dtype=np.float32), (8, 1)))  # 0 -> 1 left to right
    ramp_value = float(returned_array(total_variation(ramp), "total_variation")[0])
    if ramp_value > 1 / 9 + 0.05:
        raise CheckFailed(
            f"A left-to-right ramp gave {ramp_value:.3f}, expected {1 / 9:.3f}: you compared the last column "
            "with the first (np.roll / tf.roll wrap around). Use slices: x[:, :, 1:] - x[:, :, :-1]."
        )
    expect(
        abs(value[0] - 2.0) < 1e-4, f"A 0/1 checkerboard gave {value[0]:.4f}; expected 2 (1 across + 1 down)."
    )
    expect(abs(half - 1.0) < 1e-4, f"A checkerboard of jumps 0.5 gave {half:.4f}; expected 1.0.")

    rng = np.random.default_rng(5)
    batch = rng.uniform(size=(3, 6, 7, 3)).astype(np.float32)
    batch[1] = 0.4  # a flat image in the middle
    values = returned_array(total_variation(batch), "total_variation")
    expected = np.abs(np.diff(batch, axis=1)).mean(axis=(1, 2, 3)) + np.abs(np.diff(batch, axis=2)).mean(
        axis=(1, 2, 3)
    )
    expect(values.shape == (3,), f"A batch of 3 images gave shape {values.shape}; expected (3,).")
    expect(
        abs(values[1]) < 1e-6,
        f"A flat image gave {values[1]:.4f}: one image's value must not depend on the others in the batch.",
    )
    expect(
        np.allclose(values, expected, atol=1e-5),
        f"On random images you gave {np.round(values, 4)}, expected {np.round(expected, 4)}: average over "
        "height, width and colour of each image separately.",
    )


# --- exercise 2: the 1/f scale of a spectrum --------------------------------------------------------------


def _frequency(height: int, width: int, per_image: bool = False) -> np.ndarray:
    """sqrt(fy**2 + fx**2) on the rfft2 grid, in cycles per pixel (or, if ``per_image``, per image)."""
    fy = np.fft.fftfreq(height, 1.0 / height if per_image else 1.0)
    fx = np.fft.rfftfreq(width, 1.0 / width if per_image else 1.0)
    return np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)


def _one_over_f(height: int, width: int, decay_power: float) -> np.ndarray:
    return 1.0 / np.maximum(_frequency(height, width), 1.0 / max(height, width)) ** decay_power


def _diagnose_scale(scale: np.ndarray, height: int, width: int) -> None:
    """Name the mistake of a decay_power=1 scale of the right shape, finite and falling, but wrong."""
    f, floor = _frequency(height, width), 1.0 / max(height, width)
    expected = 1.0 / np.maximum(f, floor)
    mistakes = [
        (1.0 / np.maximum(f**2, floor), "You used fy**2 + fx**2 as the frequency: take its square root, "
         "f = sqrt(fy**2 + fx**2), the distance from the centre of the spectrum in cycles per pixel."),
        (1.0 / np.maximum(f, 1.0 / min(height, width)), f"Your floor is 1 / min(H, W) = "
         f"1/{min(height, width)}; it is 1 / max(H, W) = 1/{max(height, width)}, the lowest non-zero "
         "frequency of the longer side."),
        (1.0 / np.maximum(_frequency(height, width, per_image=True), floor), "You measured the frequency in "
         "cycles per *image* (fftfreq(H, d=1/H)); use cycles per pixel, np.fft.fftfreq(H) and "
         "np.fft.rfftfreq(W)."),
        (1.0 / (f + floor), "You added the floor to the frequency; take the larger of the two, "
         "np.maximum(f, 1 / max(H, W)), so that only f = 0 changes."),
        (expected / expected.max(), "You rescaled the result (divided by its largest value). Return "
         "1 / max(f, 1 / max(H, W)) ** decay_power as it is: the library applies its own factor."),
        (1.0 / np.maximum(f, 1.0), "Your floor is 1, which flattens every frequency to 1. The floor is "
         "1 / max(H, W), the lowest non-zero frequency."),
    ]
    for candidate, message in mistakes:
        if np.allclose(scale, candidate, rtol=1e-4):
            raise CheckFailed(message)
    if abs(scale[0, 0] * floor) > 1 + 1e-4 and np.allclose(scale[1:], expected[1:], rtol=1e-4):
        raise CheckFailed(
            f"At frequency 0 you gave {scale[0, 0]:.3g}; the floor is 1 / max(H, W), so the scale there is "
            f"max(H, W) = {max(height, width)}."
        )
    wrong = np.argwhere(~np.isclose(scale, expected, rtol=1e-4))
    if wrong.size:
        row, col = (int(v) for v in wrong[0])
        raise CheckFailed(
            f"Entry [{row}, {col}] is {scale[row, col]:.4f}; 1 / max(f, 1 / max(H, W)) there is "
            f"{expected[row, col]:.4f} (f = {f[row, col]:.4f})."
        )


@check(
    "one_over_f_scale gives 1 / max(f, 1/max(H, W)) ** decay_power on the rfft2 grid: a photo-like spectrum"
)
def check_one_over_f_scale(one_over_f_scale: Callable) -> None:
    height, width = 8, 12
    scale = returned_array(one_over_f_scale(height, width, 1.0), "one_over_f_scale")
    expected = _one_over_f(height, width, 1.0)
    if scale.shape == (height, width):
        raise CheckFailed(
            f"Shape {scale.shape}: that is the full FFT grid. np.fft.rfft2 keeps only W // 2 + 1 columns "
            f"(the others mirror them), so use np.fft.rfftfreq(W) for x: shape ({height}, {width // 2 + 1})."
        )
    if scale.shape == (width, height // 2 + 1):
        raise CheckFailed(
            "You swapped height and width: rows are y frequencies (fftfreq(H)), columns x (rfftfreq(W))."
        )
    if scale.shape == (width // 2 + 1, height):
        raise CheckFailed(
            f"Shape {scale.shape}: rows and columns are the wrong way round. np.meshgrid's default "
            "indexing='xy' puts x first: use np.meshgrid(fy, fx, indexing='ij'), or broadcasting, "
            "fftfreq(H)[:, None] and rfftfreq(W)[None, :]."
        )
    if scale.shape != expected.shape:
        raise CheckFailed(f"Wrong shape {scale.shape}; expected (H, W // 2 + 1) = {expected.shape}.")
    if not np.all(np.isfinite(scale)):
        raise CheckFailed(
            "Your scale has inf or nan at frequency 0 (the centre, f = 0): divide by max(f, 1 / max(H, W)) "
            "so the average brightness gets the largest finite scale instead."
        )
    if scale[0, 1] < scale[0, -1]:
        raise CheckFailed(
            "Your scale grows with frequency: that boosts the finest patterns, the opposite of a photo's "
            "spectrum. Divide by the frequency (1 / f), do not multiply."
        )
    _diagnose_scale(scale, height, width)
    steep = returned_array(one_over_f_scale(height, width, 2.0), "one_over_f_scale")
    floor = 1.0 / max(height, width)
    if np.allclose(steep, 1.0 / np.maximum(_frequency(height, width) ** 2, floor), rtol=1e-4):
        raise CheckFailed(
            "With decay_power=2 you floored f ** 2 instead of f: take the floor first, then the power, "
            "1 / max(f, 1 / max(H, W)) ** decay_power."
        )
    expect(
        np.allclose(steep, _one_over_f(height, width, 2.0), rtol=1e-4),
        "With decay_power=2 the scale must be 1 / f**2: raise the (floored) frequency to decay_power.",
    )

    # what it is for: white noise, scaled, has a photo-like spectrum
    from deepdream_lib.measure import spectral_slope

    rng = np.random.default_rng(0)
    size = 64
    white = np.fft.rfft2(rng.normal(size=(size, size)))
    image = np.fft.irfft2(
        white * returned_array(one_over_f_scale(size, size, 1.0), "one_over_f_scale"), s=(size, size)
    )
    slope = spectral_slope(image)
    expect(
        abs(slope + 2) < 0.4,
        f"Scaled white noise has a spectral slope of {slope:.2f}; a photo's is about -2.",
    )


# --- exercise 3: a random jitter transform ----------------------------------------------------------------


@check("jitter(distance) returns a transform that crops distance pixels off at a new random offset each call")
def check_jitter(jitter: Callable) -> None:
    images = tf.reshape(tf.range(2 * 9 * 11 * 3, dtype=tf.float32), (2, 9, 11, 3)) / 600.0
    transform = jitter(2)
    if transform is None:
        raise CheckFailed(
            "jitter(2) returned None: it must return a function (the transform), defined inside it."
        )
    if not callable(transform):
        raise CheckFailed(
            f"jitter(2) returned a {type(transform).__name__}; it must return a function of the images "
            "(define `def transform(images): ...` inside and `return transform`)."
        )
    crops = [returned_array(transform(images), "the transform") for _ in range(120)]
    shapes = {crop.shape for crop in crops}
    if shapes == {tuple(images.shape)}:
        raise CheckFailed(
            "The output has the input's size (9 x 11): you rolled or padded. This jitter *crops*: the result "
            "is distance pixels smaller in height and width, (2, 7, 9, 3) here."
        )
    if len(shapes) > 1:
        smallest, largest = sorted(shapes)[0], sorted(shapes)[-1]
        raise CheckFailed(
            f"Your crops have {len(shapes)} different sizes ({smallest} to {largest}): the crop's size must "
            "not depend on the offset. Take H - distance rows from dy on, images[:, dy:dy + H - distance], "
            "and the same for the columns."
        )
    (shape,) = shapes
    cut = 9 - shape[1]
    if shape[0] == 2 and shape[3] == 3 and cut == 11 - shape[2] and cut not in (0, 2):
        reasons = {
            4: "2 * distance: you cut distance pixels from both ends (or used a 4 of your own). Cut distance "
            "in all: one window of H - distance rows from dy on",
            3: "distance + 1: your window is one pixel short. Take images[:, dy:dy + H - distance] (no - 1)",
        }
        reason = reasons.get(cut, "not distance = 2: use the distance argument, not a number of your own")
        raise CheckFailed(f"Your crops are {shape[1]} x {shape[2]}, {cut} pixels smaller: {reason}.")
    expect(shapes == {(2, 7, 9, 3)}, f"Output shapes {sorted(shapes)}; expected (2, 7, 9, 3) every time.")
    source = images.numpy()
    offsets = []
    for crop in crops:
        where = [
            (dy, dx)
            for dy in range(3)
            for dx in range(3)
            if np.allclose(crop, source[:, dy : dy + 7, dx : dx + 9], atol=1e-6)
        ]
        expect(
            bool(where),
            "A crop is not a window of the input: slice images[:, dy:dy + H - d, dx:dx + W - d, :].",
        )
        offsets.append(where[0])
    if len(set(offsets)) == 1:
        raise CheckFailed(
            f"Every call cropped the same window (offset {offsets[0]}): draw a new random offset inside the "
            "transform, at each call, not once when jitter() is called. (A generator seeded inside the "
            "transform, np.random.default_rng(0) at each call, repeats the same draw too: make it once, "
            "outside, and draw from it inside.)"
        )
    if all(dy == dx for dy, dx in offsets):
        raise CheckFailed("Rows and columns always moved by the same amount: draw dy and dx separately.")
    seen_y, seen_x = {dy for dy, _ in offsets}, {dx for _, dx in offsets}
    expect(
        seen_y == {0, 1, 2} and seen_x == {0, 1, 2},
        f"Over 120 calls the offsets were rows {sorted(seen_y)}, columns {sorted(seen_x)}; each should take "
        "every value from 0 to distance (inclusive: e.g. rng.integers(0, distance + 1)).",
    )
    with tf.GradientTape() as tape:
        tape.watch(images)
        value = tf.reduce_sum(tf.convert_to_tensor(transform(images)))
    gradient = tape.gradient(value, images)
    expect(
        gradient is not None,
        "No gradient flows through your transform: keep it in TensorFlow (slice the tensor; no .numpy()), "
        "or the dream cannot see through it.",
    )
    expect(
        float(tf.reduce_sum(gradient)) == 2 * 7 * 9 * 3, "The gradient should be 1 on every cropped pixel."
    )
    expect(jitter(0)(images).shape == images.shape, "jitter(0) should leave the images as they are.")
