"""Toy problems for the math of lesson 02, small enough to see every number.

* A 2-D **landscape** (two Gaussian bumps, one of them long and thin) on which gradient ascent can be
  drawn as a path: a small step converges, a larger one zig-zags, a too-large one overshoots.
* A **tiny striped-image classifier** (one convolution, ReLU, average, dense) that trains in a second:
  the same network shows gradient *descent on the weights* (training) and gradient *ascent on the
  pixels* (dreaming).
* A **tiny conv -> ReLU -> max-pool -> mean network** written in numpy, with its gradient derived by
  hand through the chain rule, so it can be checked against ``tf.GradientTape`` and finite differences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

# --- a 2-D landscape -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bump:
    """A Gaussian bump ``height * exp(-((x - cx)^2 / (2 sx^2) + (y - cy)^2 / (2 sy^2)))``."""

    centre: tuple[float, float]
    height: float
    widths: tuple[float, float]


#: A tall bump that is long in x and thin in y (its ridge makes ascent zig-zag), and a lower round one.
BUMPS: tuple[Bump, ...] = (
    Bump(centre=(1.0, 0.5), height=1.0, widths=(1.0, 0.35)),
    Bump(centre=(-1.3, -0.9), height=0.7, widths=(0.6, 0.6)),
)


def _bump_terms(points: np.ndarray, bumps: tuple[Bump, ...]):
    points = np.asarray(points, dtype=np.float64)
    for bump in bumps:
        dx = (points[..., 0] - bump.centre[0]) / bump.widths[0]
        dy = (points[..., 1] - bump.centre[1]) / bump.widths[1]
        yield bump, dx, dy, bump.height * np.exp(-0.5 * (dx**2 + dy**2))


def landscape(points: np.ndarray, bumps: tuple[Bump, ...] = BUMPS) -> np.ndarray:
    """Height of the landscape at ``points`` (..., 2): a sum of Gaussian bumps."""
    return sum(value for *_, value in _bump_terms(points, bumps))


def landscape_gradient(points: np.ndarray, bumps: tuple[Bump, ...] = BUMPS) -> np.ndarray:
    """The exact gradient (d/dx, d/dy) of :func:`landscape` at ``points`` (..., 2)."""
    gradient = np.zeros(np.shape(points), dtype=np.float64)
    for bump, dx, dy, value in _bump_terms(points, bumps):
        gradient[..., 0] -= value * dx / bump.widths[0]
        gradient[..., 1] -= value * dy / bump.widths[1]
    return gradient


def ascent_path(
    start: tuple[float, float],
    step_size: float,
    num_steps: int,
    gradient: Callable[[np.ndarray], np.ndarray] = landscape_gradient,
) -> np.ndarray:
    """Plain gradient ascent ``p <- p + step_size * grad f(p)`` from ``start``.

    Returns the points visited, shape (num_steps + 1, 2), start included. Stops early (and returns
    fewer points) if the path runs off to infinity.
    """
    point = np.asarray(start, dtype=np.float64)
    path = [point]
    for _ in range(num_steps):
        point = point + step_size * gradient(point)
        if not np.all(np.isfinite(point)) or np.abs(point).max() > 1e6:
            break
        path.append(point)
    return np.array(path)


def hessian(point: tuple[float, float], eps: float = 1e-5) -> np.ndarray:
    """The 2x2 matrix of second derivatives of :func:`landscape`, by central differences of its gradient."""
    point = np.asarray(point, dtype=np.float64)
    columns = []
    for axis in range(2):
        shift = np.zeros(2)
        shift[axis] = eps
        columns.append((landscape_gradient(point + shift) - landscape_gradient(point - shift)) / (2 * eps))
    return np.stack(columns, axis=1)


def find_peak(start: tuple[float, float], tolerance: float = 1e-10, max_steps: int = 100_000) -> np.ndarray:
    """The local maximum that careful (small-step) ascent from ``start`` reaches."""
    point = np.asarray(start, dtype=np.float64)
    for _ in range(max_steps):
        step = 0.05 * landscape_gradient(point)
        point = point + step
        if np.linalg.norm(step) < tolerance:
            break
    return point


# --- a tiny striped-image classifier: descent on weights, ascent on pixels -------------------------


def stripes(num: int, size: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gray images (num, size, size, 1) in [0, 1] of vertical (label 1) or horizontal (label 0) stripes.

    Each image has a random stripe period (4-8 px) and phase, plus a little noise.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, num)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    images = []
    for label in labels:
        period, phase = rng.uniform(4.0, 8.0), rng.uniform(0.0, 2 * np.pi)
        across = cols if label == 1 else rows  # vertical stripes vary along x (columns)
        image = 0.5 + 0.4 * np.sin(2 * np.pi * across / period + phase) + rng.normal(0.0, 0.1, (size, size))
        images.append(np.clip(image, 0.0, 1.0))
    return np.asarray(images, dtype=np.float32)[..., None], labels.astype(np.float32)


def tiny_classifier(seed: int = 0) -> dict[str, tf.Variable]:
    """Random weights of a tiny classifier: 4 filters of 5x5, ReLU, spatial average, one dense output."""
    rng = np.random.default_rng(seed)
    return {
        "kernel": tf.Variable(rng.normal(0.0, 0.3, (5, 5, 1, 4)).astype(np.float32), name="kernel"),
        "bias": tf.Variable(np.zeros(4, np.float32), name="bias"),
        "dense": tf.Variable(rng.normal(0.0, 0.5, 4).astype(np.float32), name="dense"),
        "offset": tf.Variable(0.0, name="offset"),
    }


def tiny_classifier_logit(weights: dict[str, tf.Variable], images: tf.Tensor) -> tf.Tensor:
    """The tiny classifier's score (B,) for "vertical stripes": > 0 means vertical, < 0 horizontal."""
    images = tf.convert_to_tensor(images, tf.float32)
    feature_maps = tf.nn.relu(tf.nn.conv2d(images - 0.5, weights["kernel"], 1, "VALID") + weights["bias"])
    return tf.linalg.matvec(tf.reduce_mean(feature_maps, axis=[1, 2]), weights["dense"]) + weights["offset"]


def tiny_classifier_loss(weights: dict[str, tf.Variable], images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Training loss (binary cross-entropy, averaged over the batch): what training pushes *down*."""
    logits = tiny_classifier_logit(weights, images)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def stripe_orientation(image: np.ndarray) -> float:
    """How vertical the stripes of a gray image are: log10 of (variance of the column means /
    variance of the row means). Positive: vertical stripes; negative: horizontal; near 0: neither."""
    image = np.asarray(image, dtype=np.float64).squeeze()
    across_columns, across_rows = image.mean(axis=0).var(), image.mean(axis=1).var()
    return float(np.log10((across_columns + 1e-12) / (across_rows + 1e-12)))


# --- a tiny conv -> ReLU -> max-pool -> mean network, by hand --------------------------------------


def conv2d_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """2-D 'valid' convolution as deep learning means it (no kernel flip).

    ``z[i, j] = sum_{u, v} k[u, v] x[i + u, j + v]``: the output is smaller than the input by the kernel
    size minus one.
    """
    kh, kw = kernel.shape
    height, width = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((height, width), dtype=np.float64)
    for u in range(kh):
        for v in range(kw):
            out += kernel[u, v] * image[u : u + height, v : v + width]
    return out


def relu(z: np.ndarray) -> np.ndarray:
    """max(z, 0), elementwise."""
    return np.maximum(z, 0.0)


def maxpool2x2(a: np.ndarray) -> np.ndarray:
    """Max over non-overlapping 2x2 windows (stride 2); the sides must be even."""
    height, width = a.shape
    return a.reshape(height // 2, 2, width // 2, 2).max(axis=(1, 3))


def tiny_net(image: np.ndarray, kernel: np.ndarray) -> float:
    """The objective of the tiny network: ``J = mean(maxpool2x2(relu(conv2d_valid(x, k))))``."""
    return float(maxpool2x2(relu(conv2d_valid(image, kernel))).mean())


def relu_backward(upstream: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Gradient through ReLU: the gradient passes where the input was positive and is blocked elsewhere."""
    return upstream * (z > 0)


def maxpool2x2_backward(upstream: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Gradient through 2x2 max-pooling: each window's gradient goes entirely to its largest input."""
    height, width = a.shape
    blocks = a.reshape(height // 2, 2, width // 2, 2).transpose(0, 2, 1, 3)
    windows = blocks.reshape(height // 2, width // 2, 4)
    winner = windows.argmax(axis=-1)
    routed = np.zeros_like(windows, dtype=np.float64)
    np.put_along_axis(routed, winner[..., None], upstream[..., None], axis=-1)
    return routed.reshape(height // 2, width // 2, 2, 2).transpose(0, 2, 1, 3).reshape(height, width)


def conv2d_valid_backward(upstream: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Gradient through :func:`conv2d_valid` with respect to its input: each output spreads its gradient
    back over the pixels it read, weighted by the kernel: ``dx[i+u, j+v] += k[u, v] * dz[i, j]``."""
    kh, kw = kernel.shape
    height, width = upstream.shape
    grad = np.zeros((height + kh - 1, width + kw - 1), dtype=np.float64)
    for u in range(kh):
        for v in range(kw):
            grad[u : u + height, v : v + width] += kernel[u, v] * upstream
    return grad


def tiny_net_backward(image: np.ndarray, kernel: np.ndarray) -> dict[str, np.ndarray]:
    """The chain rule through the tiny network, one layer at a time, with every intermediate value.

    Returns the forward values ``z`` (conv), ``a`` (ReLU), ``p`` (pool) and the gradients of ``J``
    with respect to each of them (``dJ_dp``, ``dJ_da``, ``dJ_dz``) and to the image (``dJ_dx``).
    """
    z = conv2d_valid(image, kernel)
    a = relu(z)
    p = maxpool2x2(a)
    dj_dp = np.full_like(p, 1.0 / p.size)  # J is the mean of p
    dj_da = maxpool2x2_backward(dj_dp, a)  # to the winner of each window
    dj_dz = relu_backward(dj_da, z)  # through the ReLU gate
    dj_dx = conv2d_valid_backward(dj_dz, kernel)  # spread back over the pixels each unit reads
    return {"z": z, "a": a, "p": p, "dJ_dp": dj_dp, "dJ_da": dj_da, "dJ_dz": dj_dz, "dJ_dx": dj_dx}


def tiny_net_gradient(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """dJ/dx of :func:`tiny_net`, derived by hand (see :func:`tiny_net_backward`)."""
    return tiny_net_backward(image, kernel)["dJ_dx"]


def tiny_net_tape_gradient(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """dJ/dx of the same network built from TensorFlow ops, by ``tf.GradientTape`` (float64)."""
    x = tf.constant(image[None, :, :, None], tf.float64)
    k = tf.constant(kernel[:, :, None, None], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        pooled = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, k, 1, "VALID")), 2, 2, "VALID")
        objective = tf.reduce_mean(pooled)
    return tape.gradient(objective, x).numpy()[0, :, :, 0]


def numerical_gradient(
    function: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central finite differences: ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry i."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        above = function(x)
        x[index] = saved - eps
        below = function(x)
        x[index] = saved
        grad[index] = (above - below) / (2 * eps)
    return grad


def plot_ascent_paths(
    paths: Mapping[str, np.ndarray],
    function: Callable[[np.ndarray], np.ndarray] | None = None,
    extent: tuple[float, float, float, float] = (-2.5, 2.5, -2.0, 2.0),
    ax=None,
    title: str | None = None,
    colorbar: bool = True,
) -> Figure:
    """Gradient-ascent paths over the contour lines of a 2-D function (default: :func:`landscape`).

    ``paths`` maps a label to an (N, 2) array of points; each path starts at a circle and ends at a star.
    ``function`` takes points (..., 2) and returns heights (...). Pass ``ax`` to draw into a subplot.
    """
    if function is None:
        function = landscape
    figure = ax.figure if ax is not None else plt.figure(figsize=(6.5, 5))
    ax = ax or figure.add_subplot()
    xs, ys = np.linspace(extent[0], extent[1], 200), np.linspace(extent[2], extent[3], 160)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    filled = ax.contourf(xs, ys, function(grid), levels=20, cmap="Greys")
    if colorbar:
        figure.colorbar(filled, ax=ax, label="height f(x, y)")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (label, path) in enumerate(paths.items()):
        path, colour = np.asarray(path), colours[index % len(colours)]
        ax.plot(path[:, 0], path[:, 1], ".-", color=colour, linewidth=1.2, markersize=3, label=label)
        ax.plot(*path[0], "o", color=colour, markersize=7)
        ax.plot(*path[-1], "*", color=colour, markersize=13, markeredgecolor="black")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_aspect("equal")
    if paths:
        ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure
