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
    if np.allclose(result, np.clip(image - step_size * gradient, 0, 1), atol=1e-5):
        raise CheckFailed(
            "Your step descends (image - step_size * gradient): that is training's direction. DeepDream "
            "climbs, so the objective must go up: image + step_size * gradient."
        )
    if np.allclose(result, np.clip(image + gradient, 0, 1), atol=1e-5):
        raise CheckFailed("You ignored step_size: the move must be step_size * gradient.")
    normalised = gradient / gradient.std()
    if np.allclose(result, np.clip(image + step_size * normalised, 0, 1), atol=1e-5) and not np.allclose(
        result, expected, atol=1e-5
    ):
        raise CheckFailed(
            "You normalised the gradient inside the step. Keep the step plain (image + step_size * "
            "gradient): normalising is a separate job (exercise 2)."
        )
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
    if clipped.max() > 1.0 + 1e-6 or clipped.min() < -1e-6:
        raise CheckFailed(
            f"You forgot to clip: pixel values reached [{clipped.min():.2f}, {clipped.max():.2f}]. Images "
            "live in [0, 1]; clip after the step (np.clip or tf.clip_by_value)."
        )
    expect(
        np.allclose(clipped, np.clip(bright + 0.1 * push, 0.0, 1.0), atol=1e-6),
        "Clip to [0, 1] exactly: values above 1 become 1, values below 0 become 0.",
    )

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
    stds = result.reshape(3, -1).std(axis=1)
    raw_stds = raw.reshape(3, -1).std(axis=1)
    expected = raw / raw_stds[:, None, None, None]
    if np.allclose(result, raw, rtol=1e-4):
        raise CheckFailed(
            f"The gradient was not normalised: the std of image 2 is {stds[2]:.3g}, expected 1."
        )
    if np.isclose(result.std(), 1.0, rtol=1e-3) and not np.allclose(stds, 1.0, rtol=1e-3):
        raise CheckFailed(
            "You normalised over the whole batch: the batch's std is 1, but each image's is "
            f"{np.array2string(stds, precision=3)}. Each image needs its own std: reduce over axes [1, 2, 3] "
            "with keepdims=True."
        )
    if np.allclose(result, raw / raw_stds[:, None, None, None] ** 2, rtol=1e-3):
        raise CheckFailed(
            "You divided by the variance (std squared): the std of image 2 is now "
            f"{stds[2]:.3g} instead of 1. Divide by the standard deviation (tf.math.reduce_std)."
        )
    per_channel = result.reshape(3, -1, 3).std(axis=1)
    if np.allclose(per_channel, 1.0, rtol=1e-3):
        raise CheckFailed(
            "You normalised each colour channel on its own. That changes the gradient's direction; divide "
            "the whole image's gradient by one number, its std over height, width and channels."
        )
    if np.allclose(result.reshape(3, -1).mean(axis=1), 0.0, atol=1e-3) and np.allclose(stds, 1.0, rtol=1e-3):
        raise CheckFailed(
            "You also subtracted the mean. That changes the direction of the gradient (the way the pixels "
            "should move); only divide by the standard deviation."
        )
    expect(
        np.allclose(stds, 1.0, rtol=1e-3),
        f"After normalising, each image's std should be 1; yours are {np.array2string(stds, precision=3)}.",
    )
    expect(
        np.allclose(result, expected, rtol=1e-3, atol=1e-6),
        "Each image's std is 1, but the values are not gradient / std: divide by a positive number only, "
        "so the gradient keeps its direction.",
    )

    zero = returned_array(normalize_std(tf.zeros((1, 4, 4, 3))), "normalize_std")
    expect(
        bool(np.all(np.isfinite(zero))),
        "A zero gradient gave NaN or infinity (0 / 0). Add a small epsilon to the std, e.g. std + 1e-8.",
    )


# --- exercise 3 --------------------------------------------------------------------------------------


@check("numerical_gradient uses central differences, one entry at a time, and leaves x unchanged")
def check_numerical_gradient(numerical_gradient: Callable) -> None:
    x = np.array([[0.5, -1.0, 2.0], [0.3, 1.5, -0.4]])
    original = x.copy()

    def cube_sum(values: np.ndarray) -> float:
        return float(np.sum(np.asarray(values) ** 3))

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
    central = exact + eps**2  # what (f(x + eps) - f(x - eps)) / (2 eps) gives for x^3
    if np.allclose(result, np.full_like(x, exact.sum() + eps**2 * x.size), rtol=1e-3):
        raise CheckFailed(
            "Every entry is the same number: you nudged all entries of x at once. Nudge one entry at a time "
            "(the others stay put) to get the partial derivative for that entry."
        )
    if np.allclose(result, -central, rtol=1e-3):
        raise CheckFailed("Wrong sign: compute (f(x + eps) - f(x - eps)), not (f(x - eps) - f(x + eps)).")
    if np.allclose(result, 2 * central, rtol=1e-3):
        raise CheckFailed(
            "Twice too large: the two points are 2 * eps apart, so divide by 2 * eps, not eps."
        )
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
