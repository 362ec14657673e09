"""Checks for the exercises of lesson 02, "Gradient ascent on pixels".

Each check builds its own tiny inputs (random arrays, a tiny random convolution), runs the learner's
function, and diagnoses the usual mistakes: a step that descends, a forgotten clip, a gradient
normalised over the whole batch, a one-sided finite difference, a max-pool gradient spread like an
average.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array
from deepdream_lib.lessons import toy


def _tiny_objective(images: tf.Tensor) -> tf.Tensor:
    """Mean ReLU response of a fixed random 3x3 convolution: a stand-in for a network layer."""
    kernel = tf.constant(np.random.default_rng(7).normal(0.0, 1.0, (3, 3, 3, 4)), tf.float32)
    return tf.reduce_mean(tf.nn.relu(tf.nn.conv2d(images, kernel, 1, "SAME")))


# --- exercise 1 --------------------------------------------------------------------------------------


def _diagnose_step(result: np.ndarray, image: np.ndarray, gradient: np.ndarray, step_size: float) -> None:
    """Name the mistake of a step that is not clip(image + step_size * gradient) (no pixel clips here)."""
    if result.max() > 2.0:
        raise CheckFailed(
            f"Your pixels reach {result.max():.0f}: you returned 8-bit values (0 to 255). These images are "
            "floats in [0, 1]; return image + step_size * gradient, clipped to [0, 1], as floats."
        )
    move = (result - image).astype(np.float64).reshape(-1)
    if np.allclose(result, step_size * gradient, atol=1e-5):
        raise CheckFailed(
            "You returned only the move, step_size * gradient. Return the new image: image + step_size * "
            "gradient (clipped to [0, 1])."
        )
    if np.allclose(move, step_size * np.sign(gradient).reshape(-1), atol=1e-5):
        raise CheckFailed(
            "You moved every pixel by step_size * sign(gradient), the same amount everywhere. DeepDream's "
            "step follows the gradient itself: image + step_size * gradient."
        )
    candidates = [
        (image - step_size * gradient, "Your step descends (image - step_size * gradient): that is "
         "training's direction. DeepDream climbs, so the objective must go up: image + step_size * "
         "gradient."),
        (image + gradient, "You ignored step_size: the move must be step_size * gradient."),
        (image + step_size * gradient / gradient.std(), "You normalised the gradient inside the step. Keep "
         "the step plain (image + step_size * gradient): normalising is a separate job (exercise 2)."),
    ]
    for candidate, message in candidates:
        if np.allclose(result, np.clip(candidate, 0.0, 1.0), atol=1e-5):
            raise CheckFailed(message)
    # some other multiple of the gradient: a fixed or squared step size
    flat = gradient.astype(np.float64).reshape(-1)
    factor = float(move @ flat / (flat @ flat))
    if np.allclose(move, factor * flat, atol=1e-5):
        raise CheckFailed(
            f"Your step moves the image by {factor:.4g} * gradient; with step_size = {step_size} it must "
            "move by step_size * gradient. Use the step_size argument as it is (not a fixed number, not "
            "squared)."
        )


def _diagnose_clip(clipped: np.ndarray, raw: np.ndarray) -> None:
    """Name the mistake when a step that leaves [0, 1] (``raw``) is not clipped to [0, 1] exactly."""
    high, low = clipped.max() > 1.0 + 1e-6, clipped.min() < -1e-6
    if high and low:
        raise CheckFailed(
            f"Your result is not clipped: pixel values reached [{clipped.min():.2f}, {clipped.max():.2f}]. "
            "Images live in [0, 1]; clip the result, after the step (np.clip or tf.clip_by_value): clipping "
            "the image before the step does not help, the step itself leaves [0, 1]."
        )
    if high:
        raise CheckFailed(
            f"Values below 0 were clipped, but values above 1 were not (they reached {clipped.max():.2f}): "
            "you clipped to [0, 255], the range of 8-bit pixels, or only from below (np.maximum). These "
            "images are floats in [0, 1]: np.clip(..., 0.0, 1.0)."
        )
    if low:
        raise CheckFailed(
            f"Values above 1 were clipped, but values below 0 were not (they reached {clipped.min():.2f}): "
            "you clipped to [-1, 1] (a network's input range, not an image's) or only from above "
            "(np.minimum). These images are floats in [0, 1]: np.clip(..., 0.0, 1.0)."
        )
    expect(
        np.allclose(clipped, np.clip(raw, 0.0, 1.0), atol=1e-6),
        "Clip to [0, 1] exactly: values above 1 become 1, values below 0 become 0.",
    )


@check("gradient_ascent_step climbs (image + step_size * gradient) and keeps pixels in [0, 1]")
def check_gradient_ascent_step(gradient_ascent_step: Callable) -> None:
    rng = np.random.default_rng(3)
    image = rng.uniform(0.3, 0.7, (2, 8, 8, 3)).astype(np.float32)
    gradient = rng.normal(0.0, 2.0, image.shape).astype(np.float32)  # std 2: normalising would show
    step_size = 0.02  # small enough that no pixel leaves [0, 1] here
    original = image.copy()

    result = returned_array(gradient_ascent_step(image, gradient, step_size), "gradient_ascent_step")
    expect(
        np.array_equal(image, original),
        "Your function changed the input image in place (e.g. with `image +=`); return a new array instead.",
    )
    if result.shape != image.shape:
        raise CheckFailed(
            f"Wrong shape {result.shape}: the new image must have the shape of the old one, {image.shape} "
            "(B, H, W, 3)."
        )
    expected = np.clip(image + step_size * gradient, 0.0, 1.0)
    if not np.allclose(result, expected, atol=1e-5):
        _diagnose_step(result, image, gradient, step_size)
    expect(
        np.allclose(result, expected, atol=1e-5),
        f"Pixel [0, 0, 0, 0] is {result[0, 0, 0, 0]:.4f}; image + step_size * gradient gives "
        f"{expected[0, 0, 0, 0]:.4f}.",
    )

    # near the ends of [0, 1] the step must clip
    bright = np.full((1, 4, 4, 3), 0.98, np.float32)
    bright[0, :2] = 0.02
    push = np.where(bright > 0.5, 1.0, -1.0).astype(np.float32)
    clipped = returned_array(gradient_ascent_step(bright, push, 0.1), "gradient_ascent_step")
    _diagnose_clip(clipped, bright + 0.1 * push)

    # and the objective of a (tiny) network rises
    images = tf.constant(image)
    with tf.GradientTape() as tape:
        tape.watch(images)
        before = _tiny_objective(images)
    climb = tape.gradient(before, images).numpy()
    climb = climb / climb.std()
    stepped = returned_array(gradient_ascent_step(image, climb, 0.01), "step")
    after = _tiny_objective(tf.constant(stepped, tf.float32))
    expect(
        float(after) > float(before),
        f"With a real gradient your step made a tiny network's objective go from {float(before):.4f} down "
        f"to {float(after):.4f}: it should go up.",
    )


# --- exercise 2 --------------------------------------------------------------------------------------


@check("normalize_std divides each image's gradient by its own standard deviation")
def check_normalize_std(normalize_std: Callable[[tf.Tensor], tf.Tensor]) -> None:
    rng = np.random.default_rng(4)
    scales = np.array([0.002, 1.0, 40.0])
    raw = rng.normal(0.3, 1.0, (3, 6, 6, 3)) * scales[:, None, None, None]
    raw[..., 0] *= 3.0  # channels with different spreads, to catch per-channel normalisation
    gradient = tf.constant(raw, tf.float32)

    result = returned_array(normalize_std(gradient), "normalize_std")
    if result.shape != tuple(gradient.shape):
        raise CheckFailed(
            f"Wrong shape {result.shape}: return the whole normalised gradient, shape "
            f"{tuple(gradient.shape)} (not the standard deviation itself)."
        )
    if not np.allclose(result, raw / raw.std(axis=(1, 2, 3), keepdims=True), rtol=1e-3, atol=1e-6):
        _diagnose_normalisation(result, raw)
    zero = returned_array(normalize_std(tf.zeros((1, 4, 4, 3))), "normalize_std")
    expect(
        bool(np.all(np.isfinite(zero))),
        "A zero gradient gave NaN or infinity (0 / 0). Add a small epsilon to the std, e.g. std + 1e-8.",
    )


def _divided_by(raw: np.ndarray, divisor: np.ndarray | float) -> np.ndarray:
    return raw / (divisor + 1e-8)


def _axis_subsets() -> list[tuple[int, ...]]:
    """Every set of axes of a (B, H, W, C) tensor but the right one, (1, 2, 3)."""
    subsets = [tuple(axis for axis in range(4) if mask >> axis & 1) for mask in range(1, 16)]
    return [axes for axes in subsets if axes != (1, 2, 3)]


def _diagnose_normalisation(result: np.ndarray, raw: np.ndarray) -> None:
    """Name the mistake of a normalised gradient that is not raw / (its image's std), most specific first."""
    stds = result.reshape(3, -1).std(axis=1)
    shown = np.array2string(stds, precision=3)
    raw_stds = raw.std(axis=(1, 2, 3), keepdims=True)
    image = {"axis": (1, 2, 3), "keepdims": True}
    if np.allclose(result, raw, rtol=1e-4):
        raise CheckFailed(
            f"The gradient was not normalised: the std of image 2 is {stds[2]:.3g}, expected 1."
        )
    named = [
        (
            _divided_by(raw, raw_stds.reshape(1, 1, 1, 3)),
            "Without keepdims=True, the std over axes [1, 2, 3] has shape (B,) = (3,), and dividing the "
            "(B, H, W, 3) gradient by it lines it up with the *last* axis: colour channel c was divided by "
            f"image c's std (each image's std is now {shown}). Keep the reduced axes: keepdims=True, so "
            "the std has shape (B, 1, 1, 1).",
        ),
        (
            _divided_by(raw, raw.std()),
            f"You normalised over the whole batch: the batch's std is 1, but each image's is {shown}. Each "
            "image needs its own std: reduce over axes [1, 2, 3] with keepdims=True.",
        ),
        (
            _divided_by(raw, raw_stds**2),
            f"You divided by the variance (std squared): the std of image 2 is now {stds[2]:.3g} instead "
            "of 1. Divide by the standard deviation (tf.math.reduce_std).",
        ),
        (
            raw * raw_stds,
            "You multiplied by the standard deviation; divide by it, so that every image's gradient gets "
            "std 1.",
        ),
        (
            _divided_by(raw, raw.std(axis=(1, 2), keepdims=True)),
            "You normalised each colour channel on its own. That changes the gradient's direction; divide "
            "the whole image's gradient by one number, its std over height, width and channels.",
        ),
        (
            _divided_by(raw - raw.mean(**image), raw_stds),
            "You also subtracted the mean. That changes the direction of the gradient (the way the pixels "
            "should move); only divide by the standard deviation.",
        ),
        (
            _divided_by(raw, np.abs(raw).mean(**image)),
            "You divided by the mean absolute value (the Keras DeepDream example's normaliser). This "
            "exercise asks for the standard deviation: tf.math.reduce_std(gradient, axis=[1, 2, 3], "
            "keepdims=True).",
        ),
        (
            _divided_by(raw, np.abs(raw).max(**image)),
            "You divided by the largest absolute value; divide by the standard deviation, "
            "tf.math.reduce_std(gradient, axis=[1, 2, 3], keepdims=True).",
        ),
        (
            _divided_by(raw, np.sqrt((raw**2).sum(**image))),
            "You divided by the length (L2 norm) of each image's gradient; divide by its standard "
            "deviation, so that its std is 1 whatever the image's size.",
        ),
    ]
    for candidate, message in named:
        if np.allclose(result, candidate, rtol=1e-3, atol=1e-6):
            raise CheckFailed(message)
    for axes in _axis_subsets():
        if np.allclose(result, _divided_by(raw, raw.std(axis=axes, keepdims=True)), rtol=1e-3, atol=1e-6):
            raise CheckFailed(
                f"You took the std over axes {list(axes)}. Each image needs its own std, over height, width "
                "and channels: axis=[1, 2, 3], keepdims=True."
            )
    tiny = float(raw_stds.reshape(-1)[0])
    epsilon = tiny / float(stds[0]) - tiny  # what was added to image 0's (tiny) std
    if np.allclose(stds[1:], 1.0, rtol=1e-2) and epsilon > 1e-6:
        raise CheckFailed(
            f"Images 1 and 2 get std 1, but image 0, whose gradient is tiny (std {tiny:.2g}), "
            f"gets {stds[0]:.3g}: your epsilon (about {epsilon:.2g}) is too large. Use 1e-8."
        )
    expect(
        np.allclose(stds, 1.0, rtol=1e-3),
        f"After normalising, each image's std should be 1; yours are {shown}.",
    )
    raise CheckFailed(
        "Each image's std is 1, but the values are not gradient / std: divide by a positive number only, "
        "so the gradient keeps its direction."
    )


# --- exercise 3 --------------------------------------------------------------------------------------


def _diagnose_nudges(calls: list[np.ndarray], x: np.ndarray, eps: float) -> None:
    """Name the mistake in how f was called: a float32 copy, a nudge that is not eps, entries not put back."""
    if any(values.dtype == np.float32 for values in calls):
        raise CheckFailed(
            "f received a float32 array: you nudged a float32 copy of x. float32 keeps about 7 digits, so "
            "f(x + eps) - f(x - eps) loses most of them and the gradient is only roughly right. Copy x as "
            "float64: np.array(x, dtype=np.float64)."
        )
    differences = [
        np.abs(values.astype(np.float64).reshape(-1) - x.reshape(-1))
        for values in calls
        if values.size == x.size
    ]
    moved = [difference > 1e-12 for difference in differences]
    if moved and all(mask.all() for mask in moved):
        raise CheckFailed(
            "Every entry is the same number: you nudged all entries of x at once. Nudge one entry at a time "
            "(the others stay put) to get the partial derivative for that entry."
        )
    if any(mask.sum() > 1 for mask in moved):
        raise CheckFailed(
            "When f was called for one entry, an entry nudged before was still moved: you did not put each "
            "entry back after its two evaluations. Restore it (x[index] = saved) before the next one, so "
            "that every call of f differs from x in one entry only."
        )
    sizes = np.concatenate([difference[mask] for difference, mask in zip(differences, moved, strict=True)])
    if sizes.size and not np.allclose(sizes, eps, rtol=1e-3):
        raise CheckFailed(
            f"You nudged x by {np.median(sizes):g}, not by eps = {eps:g}: use the eps argument your function "
            "is given (the caller chooses the step), not a number of your own."
        )


@check("numerical_gradient uses central differences, one entry at a time, and leaves x unchanged")
def check_numerical_gradient(numerical_gradient: Callable) -> None:
    x = np.array([[0.5, -1.0, 2.0], [0.3, 1.5, -0.4]])
    original = x.copy()
    calls: list[np.ndarray] = []

    def cube_sum(values: np.ndarray) -> float:
        calls.append(np.array(values))  # a copy: what f saw at this call
        return float(np.sum(np.asarray(values, dtype=np.float64) ** 3))

    eps = 1e-2
    exact = 3 * x**2
    result = returned_array(numerical_gradient(cube_sum, x, eps), "numerical_gradient")
    expect(
        np.array_equal(x, original),
        "Your function changed x and did not put it back. Nudge a copy (x.copy()), or restore each entry "
        "after evaluating f.",
    )
    if result.shape != x.shape:
        raise CheckFailed(
            f"Wrong shape {result.shape}: the gradient has one entry per entry of x, {x.shape}."
        )
    _diagnose_nudges(calls, x, eps)
    central = exact + eps**2  # what (f(x + eps) - f(x - eps)) / (2 eps) gives for x^3
    if np.allclose(result, -central, rtol=1e-3):
        raise CheckFailed("Wrong sign: compute (f(x + eps) - f(x - eps)), not (f(x - eps) - f(x + eps)).")
    scaled = [
        (2, "Twice too large: the two points are 2 * eps apart, so divide by 2 * eps, not eps."),
        (eps**2, "Your values are eps**2 times too small: `/ 2 * eps` divides by 2 and then *multiplies* by "
         "eps. Put the divisor in brackets: (f(x + eps) - f(x - eps)) / (2 * eps)."),
        (2 * eps, "You forgot to divide: f(x + eps) - f(x - eps) is the change of f, the slope is that "
         "change divided by the distance, 2 * eps."),
    ]
    for factor, message in scaled:
        if np.allclose(result, factor * central, rtol=1e-3):
            raise CheckFailed(message)
    forward, backward = exact + 3 * x * eps + eps**2, exact - 3 * x * eps + eps**2
    if np.allclose(result, forward, rtol=1e-3) or np.allclose(result, backward, rtol=1e-3):
        error = np.abs(result - exact).max()
        raise CheckFailed(
            f"You used a one-sided difference (f(x + eps) - f(x)) / eps: with eps = {eps} it is off by up "
            f"to {error:.3f} here, an error proportional to eps. The central difference (f(x + eps) - "
            f"f(x - eps)) / (2 eps) is off by only {eps**2:g}, proportional to eps squared."
        )
    expect(
        np.allclose(result, central, rtol=1e-6, atol=1e-9),
        f"For f = sum(x^3) at x[0, 0] = 0.5 you returned {result[0, 0]:.6f}; the central difference gives "
        f"{central[0, 0]:.6f} (the exact derivative 3 x^2 is {exact[0, 0]:.6f}).",
    )

    # the real use: check a hand-derived gradient of the tiny network of the lesson
    rng = np.random.default_rng(5)
    image, kernel = rng.uniform(0.0, 1.0, (6, 6)), rng.normal(0.0, 1.0, (3, 3))
    numeric = returned_array(
        numerical_gradient(lambda im: toy.tiny_net(im, kernel), image, 1e-6), "numerical_gradient"
    )
    expect(
        np.allclose(numeric, toy.tiny_net_gradient(image, kernel), atol=1e-6),
        "On the lesson's tiny conv -> ReLU -> max-pool network, your finite differences disagree with the "
        "exact gradient by more than 1e-6.",
    )


# --- exercise 4 --------------------------------------------------------------------------------------


def _route(upstream: np.ndarray, a: np.ndarray, step: int = 2, transpose: bool = False) -> np.ndarray:
    """Max-pool routing with windows ``step`` apart; ``transpose`` swaps each winner's row and column."""
    grad = np.zeros(a.shape)
    for m, n in np.ndindex(upstream.shape):
        window = a[step * m : step * m + 2, step * n : step * n + 2]
        row, col = np.unravel_index(np.argmax(window), window.shape)
        if transpose:
            row, col = col, row
        grad[step * m + row, step * n + col] = upstream[m, n]
    return grad


def _plain_reshape_route(upstream: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The routing of a common bug: windows made by a plain reshape, (h, w) -> (h/2, w/2, 4)."""
    pieces = a.reshape(upstream.shape[0], upstream.shape[1], 4)
    routed = np.zeros(pieces.shape)
    np.put_along_axis(routed, pieces.argmax(axis=-1)[..., None], upstream[..., None], axis=-1)
    return routed.reshape(a.shape)


def _window(array: np.ndarray, m: int, n: int) -> np.ndarray:
    """Window (m, n) of a 2x2, stride-2 pool's input."""
    return array[2 * m : 2 * m + 2, 2 * n : 2 * n + 2]


def _diagnose_routing(result: np.ndarray, expected: np.ndarray, upstream: np.ndarray, a: np.ndarray) -> None:
    """Name the mistake of a max-pool gradient whose winners or values are wrong, most specific first."""
    winners = expected != 0
    named = [
        (winners * a, "You put the input's value (the window's maximum) at its winner. Put the *upstream* "
         "gradient there: the max passes its largest input on unchanged (local derivative 1), so by the "
         "chain rule the winner gets upstream[m, n]."),
        (expected * a, "You multiplied the upstream gradient by the input's value. The max passes its "
         "largest input on unchanged, so its local derivative is 1: the winner gets upstream[m, n] as it "
         "is."),
        (_route(upstream, a, step=1), "Your windows overlap: window (m, n) must start at row 2 * m and "
         "column 2 * n (a 2x2 pool moves by 2), not at row m, column n."),
        (_plain_reshape_route(upstream, a), "Your 'windows' are not 2x2 blocks: a plain reshape of the "
         "(h, w) input to (h/2, w/2, 4) groups four neighbours along a *row*. Reshape to (h/2, 2, w/2, 2) "
         "and transpose to (h/2, w/2, 2, 2) first, or loop over the windows a[2m:2m+2, 2n:2n+2]."),
        (_route(upstream, a, transpose=True), "Right windows, but in each one you swapped the winner's row "
         "and column. np.unravel_index(np.argmax(window), window.shape) returns (row, column): use them in "
         "that order."),
    ]
    for candidate, message in named:
        if np.allclose(result, candidate):
            raise CheckFailed(message)
    empty = [(m, n) for m, n in np.ndindex(upstream.shape) if not _window(result, m, n).any()]
    others_right = all(
        np.allclose(_window(result, m, n), _window(expected, m, n))
        for m, n in np.ndindex(upstream.shape)
        if (m, n) not in empty
    )
    if empty and others_right:
        raise CheckFailed(
            f"Windows {empty} got no gradient at all. `upstream` is {upstream.shape}: loop over all "
            f"{upstream.shape[0]} rows of windows (upstream.shape[0]) and all {upstream.shape[1]} columns "
            "(upstream.shape[1]), not the same range for both."
        )
    if np.array_equal(result != 0, winners) and not np.allclose(result, expected):
        wrong = [
            (m, n)
            for m, n in np.ndindex(upstream.shape)
            if not np.allclose(_window(result, m, n), _window(expected, m, n))
        ]
        m, n = wrong[0]
        value = _window(result, m, n).sum()
        raise CheckFailed(
            f"Right positions, but window ({m}, {n}) got the value {value:g}, not its own upstream "
            f"gradient upstream[{m}, {n}] = {upstream[m, n]:g}: window (m, n) gets upstream[m, n]."
        )


@check("maxpool2x2_backward sends each window's gradient to its largest input, and nowhere else")
def check_maxpool_backward(maxpool2x2_backward: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    a = np.array(
        [
            [1.0, 5.0, 2.0, 0.0],
            [3.0, 4.0, 9.0, 1.0],
            [0.5, 0.2, 6.0, 7.0],
            [8.0, 0.1, 2.0, 3.0],
            [0.0, 1.0, 4.0, 2.0],
            [2.0, 0.3, 1.0, 0.9],
        ]
    )  # 6 x 4: not square, so swapped axes show up
    upstream = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    original = a.copy()
    expected = toy.maxpool2x2_backward(upstream, a)

    result = returned_array(maxpool2x2_backward(upstream, a), "maxpool2x2_backward")
    expect(np.array_equal(a, original), "Your function changed the array `a` it was given.")
    if result.shape != a.shape:
        raise CheckFailed(
            f"Wrong shape {result.shape}: the gradient with respect to the pool's input has the input's "
            f"shape, {a.shape}."
        )
    spread = np.kron(upstream, np.ones((2, 2)))
    if np.allclose(result, spread / 4):
        raise CheckFailed(
            "You spread each window's gradient equally over its four inputs: that is the gradient of "
            "*average* pooling. Max-pooling passes on only its largest input, so only that one gets the "
            "gradient; the other three get 0."
        )
    if np.allclose(result, spread):
        raise CheckFailed(
            "You copied each window's gradient to all four of its inputs. Only the largest input (the one "
            "the max passed on) affects the output, so only it gets the gradient; the others get 0."
        )
    if np.allclose(result, (expected != 0).astype(float)):
        raise CheckFailed(
            "The right positions, but you put 1 there: multiply by the upstream gradient (chain rule), "
            "so the window's upstream value arrives at its winner."
        )
    blocks = a.reshape(3, 2, 2, 2).transpose(0, 2, 1, 3).reshape(3, 2, 4)
    loser = np.zeros((3, 2, 4))
    np.put_along_axis(loser, blocks.argmin(axis=-1)[..., None], upstream[..., None], axis=-1)
    if np.allclose(result, loser.reshape(3, 2, 2, 2).transpose(0, 2, 1, 3).reshape(6, 4)):
        raise CheckFailed("You sent the gradient to the *smallest* input of each window: use the largest.")
    _diagnose_routing(result, expected, upstream, a)
    for row in range(3):
        for col in range(2):
            window = result[2 * row : 2 * row + 2, 2 * col : 2 * col + 2]
            right = expected[2 * row : 2 * row + 2, 2 * col : 2 * col + 2]
            expect(
                np.allclose(window, right),
                f"Window ({row}, {col}) (rows {2 * row}-{2 * row + 1}, columns {2 * col}-{2 * col + 1}) of "
                f"`a` is {a[2 * row : 2 * row + 2, 2 * col : 2 * col + 2].tolist()}; its gradient should be "
                f"{right.tolist()}, you gave {window.tolist()}.",
            )
