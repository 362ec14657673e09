"""Checks for the exercises of lesson 04, "Layers, channels, neurons".

Each check builds small random activations (a batch of non-square feature maps, so rows and columns
cannot be confused silently), runs the learner's function, and diagnoses the usual mistakes: averaging
over the batch or the channels, indexing the wrong axis, a neuron off the centre or with rows and columns
swapped, one channel for every image of an atlas, channels sorted the wrong way round.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deepdream_lib.course.checks import CheckFailed, check, expect

NAME = "block4_conv3"


def _activations(seed: int, shape: tuple[int, int, int, int] = (3, 4, 7, 6)) -> dict[str, tf.Tensor]:
    """A dict like ``backbone.activations(...)``: ReLU-like random values, plus a decoy layer."""
    rng = np.random.default_rng(seed)
    values = np.maximum(rng.normal(0.2, 1.0, shape), 0.0).astype(np.float32)
    decoy = rng.uniform(5.0, 9.0, shape).astype(np.float32)
    return {NAME: tf.constant(values), "block1_conv2": tf.constant(decoy)}


def _values(result: object, what: str, batch: int) -> np.ndarray:
    if result is None:
        raise CheckFailed(f"{what} returned None: did you forget the `return`?")
    try:
        values = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CheckFailed(f"{what} returned a {type(result).__name__}, not numbers: {error}") from None
    if values.ndim == 0:
        raise CheckFailed(
            f"{what} returned one number for the whole batch. Return one value per image, shape ({batch},): "
            "reduce over height and width only (axis=[1, 2]), never over the batch axis 0."
        )
    if values.shape != (batch,):
        raise CheckFailed(
            f"{what} returned shape {values.shape}; it must be one value per image: ({batch},)."
        )
    return values


def _differentiable(function: Callable, activations: dict, *args, what: str) -> None:
    """The objective must be a TensorFlow computation: DeepDream needs its gradient."""
    tensor = tf.Variable(activations[NAME])
    with tf.GradientTape() as tape:
        result = function({**activations, NAME: tensor}, NAME, *args)
        total = tf.reduce_sum(tf.convert_to_tensor(result, tf.float32))
    gradient = tape.gradient(total, tensor)
    expect(
        gradient is not None and float(tf.reduce_sum(tf.abs(gradient))) > 0,
        f"{what} is not differentiable: TensorFlow found no gradient. Stay in TensorFlow (tf.reduce_mean, "
        "slicing a tensor); converting to NumPy (.numpy(), np.mean) breaks the gradient DeepDream needs.",
    )


# --- exercise 1 --------------------------------------------------------------------------------------


@check("channel_objective returns the mean of one channel over height and width, one value per image")
def check_channel_objective(channel_objective: Callable) -> None:
    activations = _activations(1)
    a = activations[NAME].numpy().astype(np.float64)
    index = 2  # < h, so that indexing the rows by mistake gives numbers, which we can diagnose
    result = _values(channel_objective(activations, NAME, index), "channel_objective", a.shape[0])
    expected = a[..., index].mean(axis=(1, 2))
    if np.allclose(result, activations["block1_conv2"].numpy()[..., index].mean(axis=(1, 2)), rtol=1e-4):
        raise CheckFailed("You used another layer: read activations[name], the layer the objective is about.")
    if np.allclose(result, a.mean(axis=(1, 2, 3)), rtol=1e-4):
        raise CheckFailed(
            "You returned the mean over all channels: that is the *layer* objective. Keep only channel "
            "`index` (the last axis: activation[..., index])."
        )
    if np.allclose(result, a[..., index].sum(axis=(1, 2)), rtol=1e-4):
        raise CheckFailed(
            "You summed over the positions instead of averaging: the objective is the *mean* over height "
            "and width (tf.reduce_mean), so it does not grow with the image's size."
        )
    if np.allclose(result, a[..., index].max(axis=(1, 2)), rtol=1e-4):
        raise CheckFailed("You took the maximum over the positions: the channel objective is their mean.")
    if a.shape[1] > index and np.allclose(result, a[:, index].mean(axis=(1, 2)), rtol=1e-4):
        raise CheckFailed(
            "You indexed axis 1 (rows): activations are (batch, height, width, channels), so the channel is "
            "the last axis: activation[..., index]."
        )
    expect(
        np.allclose(result, expected, rtol=1e-4),
        f"Image 0 gives {result[0]:.4f}; the mean of channel {index} over height and width is "
        f"{expected[0]:.4f}.",
    )
    _differentiable(channel_objective, activations, index, what="channel_objective")


# --- exercise 2 --------------------------------------------------------------------------------------


@check("neuron_objective returns one channel's activation at the centre (row h // 2, column w // 2)")
def check_neuron_objective(neuron_objective: Callable) -> None:
    activations = _activations(2)  # h = 4 (even), w = 7 (odd): centres that differ if done wrong
    a = activations[NAME].numpy().astype(np.float64)
    _, h, w, _ = a.shape
    index = 3
    result = _values(neuron_objective(activations, NAME, index), "neuron_objective", a.shape[0])
    expected = a[:, h // 2, w // 2, index]
    if np.allclose(result, a[..., index].mean(axis=(1, 2)), rtol=1e-4):
        raise CheckFailed(
            "You averaged the channel over all positions: that is the *channel* objective. A neuron is one "
            "position: activation[:, h // 2, w // 2, index]."
        )
    if np.allclose(result, a[:, 0, 0, index], rtol=1e-4) and not np.allclose(expected, a[:, 0, 0, index]):
        raise CheckFailed("You took the neuron at the top-left corner (0, 0), not the centre.")
    if np.allclose(result, a[:, w // 2 % h, h // 2, index], rtol=1e-4) and not np.allclose(result, expected):
        raise CheckFailed(
            "Rows and columns are swapped: the feature map is (batch, height, width, channels), so the row "
            "index h // 2 comes first, then the column w // 2."
        )
    below_left = a[:, (h - 1) // 2, (w - 1) // 2, index]
    if np.allclose(result, below_left, rtol=1e-4) and not np.allclose(result, expected):
        raise CheckFailed(
            "For an even size you took the unit just above/left of the centre ((h - 1) // 2). Use h // 2 and "
            "w // 2, as the library's dd.neuron does, so your neuron is the same as the lesson's."
        )
    if np.allclose(result, a[:, h // 2, w // 2, :].mean(axis=-1), rtol=1e-4):
        raise CheckFailed("You averaged over the channels at the centre: keep only channel `index`.")
    expect(
        np.allclose(result, expected, rtol=1e-4),
        f"Image 0 gives {result[0]:.4f}; channel {index} at row {h // 2}, column {w // 2} is "
        f"{expected[0]:.4f}.",
    )
    # the centre must follow the map's size, not be fixed numbers
    other = _activations(3, shape=(2, 9, 5, 6))
    b = other[NAME].numpy().astype(np.float64)
    moved = _values(neuron_objective(other, NAME, index), "neuron_objective", 2)
    expect(
        np.allclose(moved, b[:, 4, 2, index], rtol=1e-4),
        "On a 9 x 5 feature map your neuron is not at row 4, column 2: compute the centre from the "
        "tensor's shape (tf.shape(a)[1] // 2), do not write fixed numbers.",
    )
    _differentiable(neuron_objective, activations, index, what="neuron_objective")


# --- exercise 3 --------------------------------------------------------------------------------------


@check("atlas_objective gives image i the mean of channel indices[i]")
def check_atlas_objective(atlas_objective: Callable) -> None:
    activations = _activations(4, shape=(3, 5, 6, 8))
    a = activations[NAME].numpy().astype(np.float64)
    indices = [6, 1, 3]
    means = a.mean(axis=(1, 2))  # (B, C)
    result = atlas_objective(activations, NAME, indices)
    if result is not None and np.asarray(result).shape == (3, 3):
        raise CheckFailed(
            "You returned every listed channel for every image, shape (3, 3). Image i needs only its own "
            "channel, indices[i]: the diagonal of that table."
        )
    result = _values(result, "atlas_objective", 3)
    expected = means[np.arange(3), indices]
    if np.allclose(result, means[:, indices[0]], rtol=1e-4):
        raise CheckFailed(
            f"Every image got channel indices[0] = {indices[0]}. Image i must get indices[i]: loop over the "
            "images, or gather one channel per image."
        )
    if np.allclose(result, means[np.arange(3), np.arange(3)], rtol=1e-4):
        raise CheckFailed("Image i got channel i; it must get channel indices[i].")
    if np.allclose(result, means[:, indices].mean(axis=1), rtol=1e-4):
        raise CheckFailed(
            "You averaged all the listed channels for each image: image i must dream only channel indices[i]."
        )
    expect(
        np.allclose(result, expected, rtol=1e-4),
        f"Image 1 gives {result[1]:.4f}; the mean of channel {indices[1]} over its positions is "
        f"{expected[1]:.4f}.",
    )
    _differentiable(atlas_objective, activations, indices, what="atlas_objective")
    # the gradient of image i must only involve its own channel
    tensor = tf.Variable(activations[NAME])
    with tf.GradientTape() as tape:
        values = atlas_objective({NAME: tensor}, NAME, indices)
        total = tf.reduce_sum(tf.convert_to_tensor(values, tf.float32))
    gradient = tape.gradient(total, tensor).numpy()
    touched = np.abs(gradient).sum(axis=(1, 2)) > 0  # (B, C)
    wanted = np.zeros_like(touched)
    wanted[np.arange(3), indices] = True
    expect(
        np.array_equal(touched, wanted),
        "The gradient reaches channels other than indices[i] in image i: each image's value must depend "
        "on its own channel only, or the dreams mix.",
    )


# --- exercise 4 --------------------------------------------------------------------------------------


@check("top_channels returns the k channels with the largest mean activation, largest first")
def check_top_channels(top_channels: Callable) -> None:
    rng = np.random.default_rng(5)
    h, w, c = 6, 5, 12
    activation = np.maximum(rng.normal(0.0, 1.0, (h, w, c)), 0.0)
    activation[..., 2] += 0.5  # large mean, no single peak
    activation[0, 0, 9] = 8.0  # one huge value: the largest maximum, not the largest mean
    activation = activation.astype(np.float32)
    original = activation.copy()
    means = activation.mean(axis=(0, 1))
    k = 4
    result = top_channels(activation, k)
    expect(
        np.array_equal(activation, original),
        "Your function changed the activation it was given; compute on a copy (np.sort sorts in place "
        "when called as a method).",
    )
    if result is None:
        raise CheckFailed("top_channels returned None: did you forget the `return`?")
    result = np.asarray(result)
    if result.shape != (k,):
        raise CheckFailed(f"Return exactly k = {k} channel indices, shape ({k},), not {result.shape}.")
    if not np.issubdtype(result.dtype, np.integer):
        if np.allclose(np.sort(result), np.sort(means)[-k:], rtol=1e-5):
            raise CheckFailed("You returned the largest mean *values*; return the channel *indices*.")
        raise CheckFailed(f"Return integer channel indices, not {result.dtype} values.")
    if result.max() >= c or result.min() < 0:
        raise CheckFailed(
            f"Index {result.max()} is not a channel (there are {c}): did you sort the flattened activation? "
            "Average over height and width first (axis=(0, 1)), then sort the C means."
        )
    expected = np.argsort(-means, kind="stable")[:k]
    if np.array_equal(result, np.argsort(means)[:k]):
        raise CheckFailed("You returned the *least* active channels: sort by decreasing mean.")
    if np.array_equal(result, expected[::-1]):
        raise CheckFailed("Right channels, wrong order: the most active channel comes first.")
    maxima = activation.max(axis=(0, 1))
    if np.array_equal(result, np.argsort(-maxima, kind="stable")[:k]):
        raise CheckFailed(
            "You ranked channels by their largest single value: one bright pixel then wins (channel 9 here). "
            "Rank by the mean over all positions."
        )
    expect(
        np.array_equal(np.sort(result), np.sort(expected)),
        f"The {k} most active channels (by mean) are {sorted(expected.tolist())}; you returned "
        f"{sorted(result.tolist())}.",
    )
    expect(np.array_equal(result, expected), f"Order them by mean, largest first: {expected.tolist()}.")
