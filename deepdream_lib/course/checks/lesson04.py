"""Checks for the exercises of lesson 04, "Layers, channels, neurons".

Each check builds small random activations (a batch of non-square feature maps, so rows and columns
cannot be confused silently), runs the learner's function, and diagnoses the usual mistakes: averaging
over the batch or the channels, indexing the wrong axis, a neuron off the centre or with rows and columns
swapped, one channel for every image of an atlas, channels sorted the wrong way round, a layer name,
channel index or k written into the code; for the Gram similarity of exercise 5, a Gram matrix not
divided by the positions or over the wrong axes, the diagonal's self-similarity counted, dot products or
distances instead of cosines, pairs counted once but divided as if twice.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array

NAME = "block4_conv3"
OTHER = "block1_conv2"


def _activations(seed: int, shape: tuple[int, int, int, int] = (3, 4, 7, 6)) -> dict[str, tf.Tensor]:
    """A dict like ``backbone.activations(...)``: ReLU-like random values, plus a decoy layer."""
    rng = np.random.default_rng(seed)
    values = np.maximum(rng.normal(0.2, 1.0, shape), 0.0).astype(np.float32)
    decoy = rng.uniform(5.0, 9.0, shape).astype(np.float32)
    return {NAME: tf.constant(values), OTHER: tf.constant(decoy)}


def _values(result: object, what: str, batch: int, shapes: dict | None = None) -> np.ndarray:
    """The learner's objective as a (batch,) array; ``shapes`` maps a wrong shape to its diagnosis."""
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
        reason = (shapes or {}).get(values.shape, "")
        raise CheckFailed(
            f"{what} returned shape {values.shape}; it must be one value per image: ({batch},)."
            + (f" {reason}" if reason else "")
        )
    return values


def _shape_reasons(a: np.ndarray) -> dict[tuple[int, ...], str]:
    """What the usual wrong shapes of a channel objective on the (B, h, w, C) array ``a`` mean."""
    batch, height, width, _ = a.shape
    return {
        (batch, 1): "The channel axis is still there (a slice [..., index:index + 1] or keepdims=True): "
        "index it with [..., index], which drops the axis.",
        (batch, width): "You averaged over height only: average over height and width, axis=[1, 2].",
        (batch, height): "You averaged over width only: average over height and width, axis=[1, 2].",
        (width,): "You averaged over axes 0 and 1 (the batch and the rows): the batch axis must stay; "
        "average over height and width, axis=[1, 2].",
    }


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


def _uses_the_name(function: Callable, activations: dict, reference: Callable, *args, what: str) -> None:
    """Asked for the other layer, the function must read it: a layer name written into the code fails."""
    asked = np.asarray(function(activations, OTHER, *args), dtype=np.float64)
    right = reference(activations[OTHER].numpy().astype(np.float64))
    expect(
        asked.shape == right.shape and np.allclose(asked, right, rtol=1e-4),
        f"Asked for layer {OTHER}, {what} did not return its value: you wrote the layer's name into your "
        "code. Use the `name` argument: activations[name].",
    )


def _first_wrong(result: np.ndarray, expected: np.ndarray) -> int:
    """The first image whose value is wrong (so that a message never shows two equal numbers)."""
    wrong = np.flatnonzero(~np.isclose(result, expected, rtol=1e-4))
    return int(wrong[0]) if wrong.size else 0


# --- exercise 1 --------------------------------------------------------------------------------------


@check("channel_objective returns the mean of one channel over height and width, one value per image")
def check_channel_objective(channel_objective: Callable) -> None:
    activations = _activations(1)
    a = activations[NAME].numpy().astype(np.float64)
    index = 2  # < h, so that indexing the rows by mistake gives numbers, which we can diagnose
    result = _values(channel_objective(activations, NAME, index), "channel_objective", a.shape[0],
                     _shape_reasons(a))
    expected = a[..., index].mean(axis=(1, 2))
    mistakes = [
        (activations[OTHER].numpy()[..., index].mean(axis=(1, 2)),
         "You used another layer: read activations[name], the layer the objective is about."),
        (a.mean(axis=(1, 2, 3)), "You returned the mean over all channels: that is the *layer* objective. "
         "Keep only channel `index` (the last axis: activation[..., index])."),
        (a[..., index].sum(axis=(1, 2)), "You summed over the positions instead of averaging: the objective "
         "is the *mean* over height and width (tf.reduce_mean), so it does not grow with the image's size."),
        (a[..., index].max(axis=(1, 2)),
         "You took the maximum over the positions: the channel objective is their mean."),
        ((a[..., index] ** 2).mean(axis=(1, 2)), "You averaged the *squared* activations; the channel "
         "objective is the plain mean of channel `index`."),
        (a[:, index].mean(axis=(1, 2)), "You indexed axis 1 (rows): activations are (batch, height, width, "
         "channels), so the channel is the last axis: activation[..., index]."),
        (a[:, :, index].mean(axis=(1, 2)), "You indexed axis 2 (columns): activations are (batch, height, "
         "width, channels), so the channel is the last axis: activation[..., index]."),
        (a[..., index + 1].mean(axis=(1, 2)), f"You took channel {index + 1}, one after `index` = {index}: "
         "channels are numbered from 0, so channel `index` is activation[..., index], no + 1."),
        (a[..., -1].mean(axis=(1, 2)), "You took the last channel ([..., -1]); take channel `index`."),
    ]
    for values, message in mistakes:
        if np.allclose(result, values, rtol=1e-4) and not np.allclose(values, expected, rtol=1e-4):
            raise CheckFailed(message)
    first = _first_wrong(result, expected)
    expect(
        np.allclose(result, expected, rtol=1e-4),
        f"Image {first} gives {result[first]:.4f}; the mean of channel {index} over height and width is "
        f"{expected[first]:.4f}.",
    )
    _differentiable(channel_objective, activations, index, what="channel_objective")
    # the caller chooses the channel and the layer: other ones must give their own means
    again = _values(channel_objective(activations, NAME, 4), "channel_objective", a.shape[0])
    expect(
        np.allclose(again, a[..., 4].mean(axis=(1, 2)), rtol=1e-4),
        "Asked for channel 4, your function did not return its mean: you wrote the channel's number into "
        "your code. Use the `index` argument: activations[name][..., index].",
    )
    _uses_the_name(channel_objective, activations, lambda b: b[..., index].mean(axis=(1, 2)), index,
                   what="channel_objective")


# --- exercise 2 --------------------------------------------------------------------------------------


def _diagnose_neuron(result: np.ndarray, a: np.ndarray, index: int) -> None:
    """Name the mistake of a neuron objective that is not channel ``index`` at (h // 2, w // 2)."""
    _, h, w, _ = a.shape
    expected = a[:, h // 2, w // 2, index]
    patch = a[:, h // 2 - 1 : h // 2 + 2, w // 2 - 1 : w // 2 + 2, index].mean(axis=(1, 2))
    mistakes = [
        (a[..., index].mean(axis=(1, 2)), "You averaged the channel over all positions: that is the "
         "*channel* objective. A neuron is one position: activation[:, h // 2, w // 2, index]."),
        (a[..., index].max(axis=(1, 2)), "You took the channel's largest activation over all positions. A "
         "neuron is one fixed position, the centre: activation[:, h // 2, w // 2, index]."),
        (patch, "You averaged a 3 x 3 patch around the centre; a neuron is the single unit at row h // 2, "
         "column w // 2."),
        (a[:, h // 2, w // 2, :].mean(axis=-1), "You averaged over the channels at the centre: keep only "
         "channel `index`."),
    ]
    for values, message in mistakes:
        if np.allclose(result, values, rtol=1e-4):
            raise CheckFailed(message)
    if np.allclose(result, a[:, 0, 0, index], rtol=1e-4):
        raise CheckFailed("You took the neuron at the top-left corner (0, 0), not the centre.")
    if np.allclose(result, a[:, w // 2 % h, h // 2, index], rtol=1e-4):
        raise CheckFailed(
            "Rows and columns are swapped: the feature map is (batch, height, width, channels), so the row "
            "index h // 2 comes first, then the column w // 2."
        )
    if np.allclose(result, a[:, (h - 1) // 2, (w - 1) // 2, index], rtol=1e-4):
        raise CheckFailed(
            "For an even size you took the unit just above/left of the centre ((h - 1) // 2). Use h // 2 and "
            "w // 2, as the library's dd.neuron does, so your neuron is the same as the lesson's."
        )
    places = [
        (row, col, channel)
        for row, col, channel in np.ndindex(a.shape[1:])
        if np.allclose(result, a[:, row, col, channel], rtol=1e-4)
    ]
    if len(places) == 1:
        row, col, channel = places[0]
        raise CheckFailed(
            f"You took channel {channel} at row {row}, column {col}; the neuron is channel `index` = {index} "
            f"at the centre, row h // 2 = {h // 2}, column w // 2 = {w // 2} (the map is {h} x {w})."
        )
    first = _first_wrong(result, expected)
    raise CheckFailed(
        f"Image {first} gives {result[first]:.4f}; channel {index} at row {h // 2}, column {w // 2} is "
        f"{expected[first]:.4f}."
    )


@check("neuron_objective returns one channel's activation at the centre (row h // 2, column w // 2)")
def check_neuron_objective(neuron_objective: Callable) -> None:
    activations = _activations(2)  # h = 4 (even), w = 7 (odd): centres that differ if done wrong
    a = activations[NAME].numpy().astype(np.float64)
    _, h, w, _ = a.shape
    index = 3
    result = _values(neuron_objective(activations, NAME, index), "neuron_objective", a.shape[0])
    if not np.allclose(result, a[:, h // 2, w // 2, index], rtol=1e-4):
        _diagnose_neuron(result, a, index)
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
    _uses_the_name(neuron_objective, activations, lambda c: c[:, h // 2, w // 2, index], index,
                   what="neuron_objective")


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
            "You returned every listed channel for every image, shape (3, 3) (tf.gather without "
            "batch_dims=1 does that). Image i needs only its own channel, indices[i]: the diagonal of that "
            "table."
        )
    result = _values(result, "atlas_objective", 3)
    expected = means[np.arange(3), indices]
    rows = np.arange(3)
    mistakes = [
        (means[:, indices[0]], f"Every image got channel indices[0] = {indices[0]}. Image i must get "
         "indices[i]: loop over the images, or gather one channel per image."),
        (means[rows, rows], "Image i got channel i; it must get channel indices[i]."),
        (means[rows, indices[::-1]], "Image i got channel indices[-1 - i]: you paired the images and the "
         "indices in opposite orders. Image i gets indices[i] (enumerate(indices) gives both)."),
        (means[:, indices].mean(axis=1), "You averaged all the listed channels for each image: image i must "
         "dream only channel indices[i]."),
        (means[:, indices].sum(axis=1), "You added up all the listed channels for each image: image i must "
         "dream only channel indices[i]."),
        (a.sum(axis=(1, 2))[rows, indices], "You summed over the positions; take the mean over height and "
         "width, as the channel objective does."),
        (a.max(axis=(1, 2))[rows, indices], "You took the largest activation of each image's channel; take "
         "its mean over height and width, as the channel objective does."),
        (activations[OTHER].numpy().mean(axis=(1, 2))[rows, indices],
         "You used another layer: read activations[name]."),
    ]
    for values, message in mistakes:
        if np.allclose(result, values, rtol=1e-4) and not np.allclose(values, expected, rtol=1e-4):
            raise CheckFailed(message)
    first = _first_wrong(result, expected)
    expect(
        np.allclose(result, expected, rtol=1e-4),
        f"Image {first} gives {result[first]:.4f}; the mean of its channel indices[{first}] = "
        f"{indices[first]} over its positions is {expected[first]:.4f}.",
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
    again = _values(atlas_objective(activations, NAME, [0, 7, 7]), "atlas_objective", 3)
    expect(
        np.allclose(again, means[rows, [0, 7, 7]], rtol=1e-4),
        "With indices [0, 7, 7] your function did not give image i the mean of channel indices[i]: use the "
        "`indices` argument, not numbers of your own.",
    )
    _uses_the_name(atlas_objective, activations, lambda b: b.mean(axis=(1, 2))[rows, indices], indices,
                   what="atlas_objective")


# --- exercise 4 --------------------------------------------------------------------------------------


def _top_case(seed: int, h: int = 6, w: int = 5, c: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    activation = np.maximum(rng.normal(0.0, 1.0, (h, w, c)), 0.0)
    activation[..., 2] += 0.5  # large mean, no single peak
    activation[0, 0, 9] = 8.0  # one huge value: the largest maximum, not the largest mean
    return activation.astype(np.float32)


def _diagnose_ranking(result: np.ndarray, activation: np.ndarray, k: int) -> None:
    """Name the mistake of k channel indices that are not the k largest means, largest first."""
    means = activation.mean(axis=(0, 1))
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
    if np.array_equal(result, np.argsort(-activation.mean(axis=(1, 2)), kind="stable")[:k]):
        raise CheckFailed(
            "You averaged over axes (1, 2), width and channels, and ranked the *rows*. The activation is "
            "(h, w, C), channels last: average over axis=(0, 1), then rank the C means."
        )
    if np.array_equal(np.sort(result), np.sort(expected)):
        raise CheckFailed(
            f"The right channels, in the wrong order: {result.tolist()}. Order them by mean, largest first: "
            f"{expected.tolist()} (np.argpartition does not sort; np.argsort does)."
        )
    raise CheckFailed(
        f"The {k} most active channels (by mean) are {sorted(expected.tolist())}; you returned "
        f"{sorted(result.tolist())}."
    )


def _top_indices(top_channels: Callable, activation: np.ndarray, k: int) -> np.ndarray:
    """Call the learner's function; check that it leaves the input alone and returns k integer indices."""
    original = activation.copy()
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
        means = activation.mean(axis=(0, 1))
        if np.allclose(np.sort(result), np.sort(means)[-k:], rtol=1e-5):
            raise CheckFailed("You returned the largest mean *values*; return the channel *indices*.")
        raise CheckFailed(f"Return integer channel indices, not {result.dtype} values.")
    channels = activation.shape[-1]
    if result.max() >= channels or result.min() < 0:
        raise CheckFailed(
            f"Index {result.max()} is not a channel (there are {channels}): did you sort the flattened "
            "activation? Average over height and width first (axis=(0, 1)), then sort the C means."
        )
    return result


@check("top_channels returns the k channels with the largest mean activation, largest first")
def check_top_channels(top_channels: Callable) -> None:
    for seed, k in ((5, 4), (6, 7)):  # a second case with another k, so that a fixed k fails
        activation = _top_case(seed)
        result = _top_indices(top_channels, activation, k)
        if not np.array_equal(result, np.argsort(-activation.mean(axis=(0, 1)), kind="stable")[:k]):
            _diagnose_ranking(result, activation, k)


# --- exercise 5 --------------------------------------------------------------------------------------


def _style_features(seed: int, shape: tuple[int, int, int, int] = (4, 3, 5, 6)) -> np.ndarray:
    """ReLU-like feature maps (B, h, w, C), h != w != C, with a different channel mix per image."""
    rng = np.random.default_rng(seed)
    mix = rng.uniform(0.2, 2.0, (shape[0], 1, 1, shape[-1]))
    return (np.maximum(rng.normal(0.3, 1.0, shape), 0.0) * mix).astype(np.float32)


def _gram(features: np.ndarray) -> np.ndarray:
    """(B, h, w, C) -> (B, C, C): mean over positions of channel products, in float64."""
    f = np.asarray(features, np.float64)
    return np.einsum("bhwc,bhwd->bcd", f, f) / (f.shape[1] * f.shape[2])


def _cosines(grams: np.ndarray) -> np.ndarray:
    flat = grams.reshape(len(grams), -1)
    unit = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    return unit @ unit.T


@check("gram_matrix returns each image's (C, C) mean over positions of channel products")
def check_gram_matrix(gram_matrix: Callable) -> None:
    features = _style_features(20)
    batch, h, w, c = features.shape
    result = returned_array(gram_matrix(tf.constant(features)), "gram_matrix")
    f = features.astype(np.float64)
    flat = f.reshape(batch, h * w, c)
    shapes = {
        (batch, h * w, h * w): "You multiplied positions with positions (F F^T): the Gram matrix compares "
        "channels, so contract over the positions: G = F^T F, shape (B, C, C).",
        (c, c): "You summed over the batch as well: keep one Gram matrix per image, shape (B, C, C) "
        "(einsum 'bhwc,bhwd->bcd').",
        (batch, h, h): "You contracted over the columns and channels: contract over all the positions "
        "(height and width), keeping the channels: shape (B, C, C).",
        (batch, w, w): "You contracted over the rows and channels: contract over all the positions "
        "(height and width), keeping the channels: shape (B, C, C).",
        (batch, c): "You returned one number per channel: the Gram matrix holds every pair of channels, "
        "(B, C, C).",
    }
    if result.shape != (batch, c, c):
        reason = shapes.get(result.shape, "")
        raise CheckFailed(f"gram_matrix returned shape {result.shape}; it must be ({batch}, {c}, {c})."
                          + (f" {reason}" if reason else ""))
    expected = _gram(features)
    mistakes = [
        (expected * h * w, "You forgot to divide by the number of positions h * w: the Gram matrix is a "
         "*mean* over positions, so it does not grow with the image's size."),
        (expected * h * w / c, "You divided by the number of channels C; divide by the number of "
         "positions h * w."),
        (expected / c, "You divided by h * w * C; divide by the number of positions h * w only."),
        (expected / (h * w), "You divided by (h * w) squared; divide by the number of positions once."),
        (np.einsum("bpc,bpd->bcd", flat - flat.mean(axis=1, keepdims=True),
                   flat - flat.mean(axis=1, keepdims=True)) / (h * w),
         "You subtracted each channel's mean first (a covariance); the Gram matrix uses the raw features."),
    ]
    for values, message in mistakes:
        if np.allclose(result, values, rtol=1e-4) and not np.allclose(values, expected, rtol=1e-4):
            raise CheckFailed(message)
    expect(np.allclose(result, expected, rtol=1e-4),
           f"Image 0's entry (0, 1) is {result[0, 0, 1]:.4f}; the mean over positions of channel 0 times "
           f"channel 1 is {expected[0, 0, 1]:.4f}.")
    _differentiable_tensor(gram_matrix, features, "gram_matrix")


def _differentiable_tensor(function: Callable, features: np.ndarray, what: str) -> None:
    tensor = tf.Variable(features)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(tf.convert_to_tensor(function(tensor), tf.float32))
    gradient = tape.gradient(total, tensor)
    expect(
        gradient is not None and float(tf.reduce_sum(tf.abs(gradient))) > 0,
        f"{what} is not differentiable: TensorFlow found no gradient. Stay in TensorFlow (tf.einsum, "
        "tf.linalg.matmul, tf.norm); .numpy() and np functions break the gradient a diversity term needs.",
    )


@check("gram_similarity returns the mean cosine similarity of the Gram matrices over pairs of images")
def check_gram_similarity(gram_similarity: Callable) -> None:
    features = _style_features(21)
    batch = len(features)
    value = returned_array(gram_similarity(tf.constant(features)), "gram_similarity")
    if value.shape == (batch, batch):
        raise CheckFailed("You returned the table of every pair's similarity (B, B); return its mean over "
                          "the pairs of *different* images, one number.")
    if value.shape == (batch,):
        raise CheckFailed("You returned one number per image; return one number for the whole set: the "
                          "mean over all pairs of different images.")
    if value.shape != ():
        raise CheckFailed(f"gram_similarity returned shape {value.shape}; return one number.")
    grams = _gram(features)
    cosines = _cosines(grams)
    pairs = ~np.eye(batch, dtype=bool)
    expected = cosines[pairs].mean()
    flat = grams.reshape(batch, -1)
    dots = flat @ flat.T
    raw = features.reshape(batch, -1).astype(np.float64)
    raw_unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    distances = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    mistakes = [
        (cosines.mean(), "You included each image's similarity with itself (the diagonal, always 1): "
         "average over the pairs i != j only."),
        (cosines[np.triu_indices(batch, 1)].sum() / (batch * (batch - 1)), "You summed each pair once "
         "(i < j) but divided by B (B - 1), the number of *ordered* pairs: divide by B (B - 1) / 2."),
        (cosines[np.triu_indices(batch, 1)].sum(), "You summed the pairs' similarities: return their mean."),
        (dots[pairs].mean(), "You averaged the plain dot products <G_i, G_j>: divide each by "
         "|G_i| |G_j| (the cosine), so that the result says how alike the styles are, not how strong."),
        (distances[pairs].mean(), "You averaged the distances |G_i - G_j|; the similarity is the cosine "
         "<G_i, G_j> / (|G_i| |G_j|)."),
        ((raw_unit @ raw_unit.T)[pairs].mean(), "You compared the feature maps themselves, position by "
         "position; compare their Gram matrices, which forget where each feature is."),
        (-expected, "Wrong sign: that is the diversity objective (minus the similarity); return the "
         "similarity itself."),
    ]
    for wrong, message in mistakes:
        if np.isclose(value, wrong, rtol=1e-4) and not np.isclose(wrong, expected, rtol=1e-4):
            raise CheckFailed(message)
    expect(np.isclose(value, expected, rtol=1e-4),
           f"Your similarity is {float(value):.4f}; the mean over pairs i != j of cos(G_i, G_j) is "
           f"{expected:.4f}.")
    # style, not place: moving one image's features around must not change its Gram matrix
    moved = features.copy()
    moved[1] = np.roll(moved[1], (1, 2), axis=(0, 1))
    again = returned_array(gram_similarity(tf.constant(moved)), "gram_similarity")
    expect(np.isclose(again, expected, rtol=1e-4),
           "Shifting one image's feature map changed your similarity: the Gram matrix must sum over all "
           "positions, so that it forgets where each feature is.")
    alike = returned_array(gram_similarity(tf.constant(np.repeat(features[:1], 3, axis=0))),
                           "gram_similarity")
    expect(np.isclose(alike, 1.0, rtol=1e-4),
           f"Three copies of one image should have similarity 1; yours gives {float(alike):.4f}.")
    _differentiable_tensor(gram_similarity, features, "gram_similarity")
