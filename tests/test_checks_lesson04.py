"""The lesson 04 checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from checkcases import blank, fails_with, passes
from deepdream_lib.course.checks import lesson04


# --- exercise 1: channel_objective ------------------------------------------------------------------------
def channel_objective(activations, name, index):
    return tf.reduce_mean(activations[name][..., index], axis=[1, 2])


CHANNEL_MISTAKES = {
    "whole batch": (lambda acts, n, c: tf.reduce_mean(acts[n][..., c]), "one number for the whole batch"),
    "layer mean": (lambda acts, n, c: tf.reduce_mean(acts[n], axis=[1, 2, 3]), "*layer* objective"),
    "sum": (lambda acts, n, c: tf.reduce_sum(acts[n][..., c], axis=[1, 2]), "summed"),
    "max": (lambda acts, n, c: tf.reduce_max(acts[n][..., c], axis=[1, 2]), "maximum"),
    "axis 1": (lambda acts, n, c: tf.reduce_mean(acts[n][:, c], axis=[1, 2]), "axis 1"),
    "other layer": (lambda acts, n, c: channel_objective(acts, "block1_conv2", c), "another layer"),
    "numpy": (lambda acts, n, c: np.mean(acts[n].numpy()[..., c], axis=(1, 2)), "not differentiable"),
    "no return": (lambda acts, n, c: None, "return"),
    "keeps the channel axis": (
        lambda acts, n, c: tf.reduce_mean(acts[n][..., c : c + 1], axis=[1, 2]), "(3, 1)"
    ),
    "height only": (lambda acts, n, c: tf.reduce_mean(acts[n][..., c], axis=1), "height only"),
    "batch and rows": (lambda acts, n, c: tf.reduce_mean(acts[n][..., c], axis=[0, 1]), "axes 0 and 1"),
    "axis 2": (lambda acts, n, c: tf.reduce_mean(acts[n][:, :, c], axis=[1, 2]), "axis 2"),
    "index + 1": (lambda acts, n, c: channel_objective(acts, n, c + 1), "no + 1"),
    "last channel": (lambda acts, n, c: channel_objective(acts, n, -1), "last channel"),
    "squared": (lambda acts, n, c: tf.reduce_mean(acts[n][..., c] ** 2, axis=[1, 2]), "*squared*"),
    "hard-coded channel": (lambda acts, n, c: channel_objective(acts, n, 2), "the `index` argument"),
    "hard-coded layer": (lambda acts, n, c: channel_objective(acts, "block4_conv3", c), "`name` argument"),
}


def test_channel_objective(capsys):
    fails_with(lesson04.check_channel_objective, blank, "Not implemented yet")
    passes(lesson04.check_channel_objective, channel_objective, capsys)


@pytest.mark.parametrize("mistake", list(CHANNEL_MISTAKES))
def test_channel_objective_mistakes(mistake):
    function, phrase = CHANNEL_MISTAKES[mistake]
    fails_with(lesson04.check_channel_objective, function, phrase)


# --- exercise 2: neuron_objective -------------------------------------------------------------------------
def neuron_objective(activations, name, index):
    a = activations[name]
    return a[:, tf.shape(a)[1] // 2, tf.shape(a)[2] // 2, index]


def _fixed_centre(activations, name, index):
    return activations[name][:, 2, 3, index]  # right for a 4 x 7 map only


NEURON_MISTAKES = {
    "channel mean": (lambda acts, n, c: tf.reduce_mean(acts[n][..., c], axis=[1, 2]), "*channel* objective"),
    "corner": (lambda acts, n, c: acts[n][:, 0, 0, c], "top-left corner"),
    "swapped": (lambda acts, n, c: acts[n][:, acts[n].shape[2] // 2, acts[n].shape[1] // 2, c], "swapped"),
    "(h - 1) // 2": (
        lambda acts, n, c: acts[n][:, (acts[n].shape[1] - 1) // 2, (acts[n].shape[2] - 1) // 2, c],
        "(h - 1) // 2",
    ),
    "channels averaged": (
        lambda acts, n, c: tf.reduce_mean(acts[n][:, acts[n].shape[1] // 2, acts[n].shape[2] // 2], axis=-1),
        "averaged over the channels",
    ),
    "fixed numbers": (_fixed_centre, "fixed numbers"),
    "all channels": (lambda acts, n, c: acts[n][:, 2, 3, :], "one value per image"),
    "largest activation": (lambda acts, n, c: tf.reduce_max(acts[n][..., c], axis=[1, 2]), "largest"),
    "3 x 3 patch": (
        lambda acts, n, c: tf.reduce_mean(acts[n][:, 1:4, 2:5, c], axis=[1, 2]), "3 x 3 patch"
    ),
    "bottom-right corner": (lambda acts, n, c: acts[n][:, -1, -1, c], "row 3, column 6"),
    "rounds up": (
        lambda acts, n, c: acts[n][:, acts[n].shape[1] // 2, -(-acts[n].shape[2] // 2), c], "row 2, column 4"
    ),
    "width for both": (
        lambda acts, n, c: acts[n][:, acts[n].shape[2] // 2, acts[n].shape[2] // 2, c],
        "row 3, column 3",
    ),
    "channel + 1": (lambda acts, n, c: neuron_objective(acts, n, c + 1), "You took channel 4"),
    "numpy": (lambda acts, n, c: neuron_objective(acts, n, c).numpy(), "not differentiable"),
    "hard-coded layer": (lambda acts, n, c: neuron_objective(acts, "block4_conv3", c), "the `name` argument"),
}


def test_neuron_objective(capsys):
    fails_with(lesson04.check_neuron_objective, blank, "Not implemented yet")
    passes(lesson04.check_neuron_objective, neuron_objective, capsys)
    # the same with Python ints from the static shape
    passes(
        lesson04.check_neuron_objective,
        lambda acts, n, c: acts[n][:, acts[n].shape[1] // 2, acts[n].shape[2] // 2, c],
        capsys,
    )


@pytest.mark.parametrize("mistake", list(NEURON_MISTAKES))
def test_neuron_objective_mistakes(mistake):
    function, phrase = NEURON_MISTAKES[mistake]
    fails_with(lesson04.check_neuron_objective, function, phrase)


# --- exercise 3: atlas_objective --------------------------------------------------------------------------
def atlas_objective(activations, name, indices):
    return tf.stack([channel_objective(activations, name, c)[i] for i, c in enumerate(indices)])


def _gathered(activations, name, indices):
    means = tf.reduce_mean(activations[name], axis=[1, 2])
    return tf.gather(means, indices, axis=1, batch_dims=1)


ATLAS_MISTAKES = {
    "first channel for all": (lambda acts, n, ids: channel_objective(acts, n, ids[0]), "indices[0]"),
    "channel i": (
        lambda acts, n, ids: tf.stack([channel_objective(acts, n, i)[i] for i in range(len(ids))]),
        "channel i",
    ),
    "table": (lambda acts, n, ids: tf.stack([channel_objective(acts, n, c) for c in ids], axis=1), "(3, 3)"),
    "averaged": (
        lambda acts, n, ids: tf.reduce_mean(tf.stack([channel_objective(acts, n, c) for c in ids]), axis=0),
        "averaged all the listed channels",
    ),
    "one number": (lambda acts, n, ids: tf.reduce_sum(atlas_objective(acts, n, ids)), "one number"),
    "indices reversed": (lambda acts, n, ids: atlas_objective(acts, n, ids[::-1]), "opposite orders"),
    "sum of the listed channels": (
        lambda acts, n, ids: tf.reduce_sum(tf.stack([channel_objective(acts, n, c) for c in ids]), axis=0),
        "added up all the listed channels",
    ),
    "gather without batch_dims": (
        lambda acts, n, ids: tf.gather(tf.reduce_mean(acts[n], axis=[1, 2]), ids, axis=1), "batch_dims=1"
    ),
    "summed positions": (
        lambda acts, n, ids: tf.stack([tf.reduce_sum(acts[n][i, ..., c]) for i, c in enumerate(ids)]),
        "summed over the positions",
    ),
    "largest activation": (
        lambda acts, n, ids: tf.stack([tf.reduce_max(acts[n][i, ..., c]) for i, c in enumerate(ids)]),
        "largest activation",
    ),
    "numpy": (lambda acts, n, ids: atlas_objective(acts, n, ids).numpy(), "not differentiable"),
    "hard-coded indices": (lambda acts, n, ids: atlas_objective(acts, n, [6, 1, 3]), "`indices` argument"),
    "hard-coded layer": (lambda acts, n, ids: atlas_objective(acts, "block4_conv3", ids), "`name` argument"),
}


def test_atlas_objective(capsys):
    fails_with(lesson04.check_atlas_objective, blank, "Not implemented yet")
    passes(lesson04.check_atlas_objective, atlas_objective, capsys)
    passes(lesson04.check_atlas_objective, _gathered, capsys)


@pytest.mark.parametrize("mistake", list(ATLAS_MISTAKES))
def test_atlas_objective_mistakes(mistake):
    function, phrase = ATLAS_MISTAKES[mistake]
    fails_with(lesson04.check_atlas_objective, function, phrase)


# --- exercise 4: top_channels -----------------------------------------------------------------------------
def top_channels(activation, k):
    return np.argsort(-activation.mean(axis=(0, 1)), kind="stable")[:k]


def _sorts_in_place(activation, k):
    activation.sort(axis=-1)
    return np.argsort(-activation.mean(axis=(0, 1)))[:k]


TOP_MISTAKES = {
    "ascending": (lambda a, k: np.argsort(a.mean(axis=(0, 1)))[:k], "*least* active"),
    "reversed": (lambda a, k: np.argsort(-a.mean(axis=(0, 1)))[:k][::-1], "wrong order"),
    "by maximum": (lambda a, k: np.argsort(-a.max(axis=(0, 1)))[:k], "largest single value"),
    "values": (lambda a, k: np.sort(a.mean(axis=(0, 1)))[::-1][:k], "*values*"),
    "flattened": (lambda a, k: np.argsort(-a.ravel())[:k], "flattened"),
    "k + 1": (lambda a, k: np.argsort(-a.mean(axis=(0, 1)))[: k + 1], "exactly k"),
    "in place": (_sorts_in_place, "changed the activation"),
    "no return": (lambda a, k: None, "return"),
    "the k - 1 first": (lambda a, k: np.argsort(-a.mean(axis=(0, 1)))[: k - 1], "exactly k"),
    "rows ranked": (lambda a, k: np.argsort(-a.mean(axis=(1, 2)))[:k], "ranked the *rows*"),
    "float indices": (lambda a, k: np.argsort(-a.mean(axis=(0, 1)))[:k].astype(float), "integer"),
    "fixed k": (lambda a, k: np.argsort(-a.mean(axis=(0, 1)))[:4], "exactly k = 7"),
}


def test_top_channels(capsys):
    fails_with(lesson04.check_top_channels, blank, "Not implemented yet")
    passes(lesson04.check_top_channels, top_channels, capsys)
    passes(lesson04.check_top_channels, lambda a, k: list(np.argsort(a.mean(axis=(0, 1)))[::-1][:k]), capsys)
    passes(lesson04.check_top_channels, lambda a, k: tf.math.top_k(tf.reduce_mean(a, axis=[0, 1]), k).indices,
           capsys)


@pytest.mark.parametrize("mistake", list(TOP_MISTAKES))
def test_top_channels_mistakes(mistake):
    function, phrase = TOP_MISTAKES[mistake]
    fails_with(lesson04.check_top_channels, function, phrase)


# --- exercise 5: gram_matrix and gram_similarity ------------------------------------------------------------
def gram_matrix(features):
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], features.dtype)
    return tf.einsum("bhwc,bhwd->bcd", features, features) / positions


def _cosines(features):
    grams = gram_matrix(features)
    unit = tf.math.l2_normalize(tf.reshape(grams, (tf.shape(grams)[0], -1)), axis=1)
    return unit @ tf.transpose(unit)


def gram_similarity(features):
    cosines = _cosines(features)
    n = tf.cast(tf.shape(cosines)[0], cosines.dtype)
    return (tf.reduce_sum(cosines) - tf.linalg.trace(cosines)) / (n * (n - 1))


def _flat(features):
    return tf.reshape(features, (tf.shape(features)[0], -1, tf.shape(features)[-1]))


GRAM_MISTAKES = {
    "not divided": (lambda f: tf.einsum("bhwc,bhwd->bcd", f, f), "forgot to divide"),
    "divided by C": (lambda f: tf.einsum("bhwc,bhwd->bcd", f, f) / f.shape[-1], "number of channels C"),
    "divided by hwC": (lambda f: gram_matrix(f) / f.shape[-1], "h * w * C"),
    "positions twice": (lambda f: gram_matrix(f) / (f.shape[1] * f.shape[2]), "squared"),
    "position Gram": (lambda f: tf.matmul(_flat(f), _flat(f), transpose_b=True), "positions with positions"),
    "batch summed": (lambda f: tf.einsum("bhwc,bhwd->cd", f, f), "summed over the batch"),
    "rows only": (lambda f: tf.einsum("bhwc,bxwc->bhx", f, f), "columns and channels"),
    "covariance": (lambda f: gram_matrix(f - tf.reduce_mean(f, axis=[1, 2], keepdims=True)), "covariance"),
    "numpy": (lambda f: np.einsum("bhwc,bhwd->bcd", f.numpy(), f.numpy()) / (f.shape[1] * f.shape[2]),
              "not differentiable"),
    "no return": (lambda f: None, "return"),
}


def test_gram_matrix(capsys):
    fails_with(lesson04.check_gram_matrix, blank, "Not implemented yet")
    passes(lesson04.check_gram_matrix, gram_matrix, capsys)
    passes(lesson04.check_gram_matrix, lambda f: tf.matmul(_flat(f), _flat(f), transpose_a=True)
           / (f.shape[1] * f.shape[2]), capsys)


@pytest.mark.parametrize("mistake", list(GRAM_MISTAKES))
def test_gram_matrix_mistakes(mistake):
    function, phrase = GRAM_MISTAKES[mistake]
    fails_with(lesson04.check_gram_matrix, function, phrase)


def _upper(cosines):
    n = cosines.shape[0]
    return tf.boolean_mask(cosines, np.triu(np.ones((n, n), bool), 1))


def _features_cosine(features):
    flat = tf.math.l2_normalize(tf.reshape(features, (tf.shape(features)[0], -1)), axis=1)
    cosines = flat @ tf.transpose(flat)
    return tf.reduce_mean(_upper(cosines))


def _dot_products(features):
    grams = tf.reshape(gram_matrix(features), (tf.shape(features)[0], -1))
    return tf.reduce_mean(_upper(grams @ tf.transpose(grams)))


def _distances(features):
    grams = tf.reshape(gram_matrix(features), (tf.shape(features)[0], -1))
    gaps = tf.norm(grams[:, None] - grams[None], axis=-1)
    return tf.reduce_mean(_upper(gaps))


SIMILARITY_MISTAKES = {
    "diagonal included": (lambda f: tf.reduce_mean(_cosines(f)), "with itself"),
    "pairs once, divided by ordered pairs": (
        lambda f: tf.reduce_sum(_upper(_cosines(f))) / (f.shape[0] * (f.shape[0] - 1)), "ordered"
    ),
    "sum of pairs": (lambda f: tf.reduce_sum(_upper(_cosines(f))), "return their mean"),
    "dot products": (_dot_products, "plain dot products"),
    "distances": (_distances, "distances"),
    "feature maps compared": (_features_cosine, "feature maps themselves"),
    "minus sign": (lambda f: -gram_similarity(f), "Wrong sign"),
    "table": (_cosines, "table of every pair"),
    "per image": (lambda f: tf.reduce_mean(_cosines(f), axis=1), "one number per image"),
    "numpy": (lambda f: gram_similarity(f).numpy(), "not differentiable"),
}


def test_gram_similarity(capsys):
    fails_with(lesson04.check_gram_similarity, blank, "Not implemented yet")
    passes(lesson04.check_gram_similarity, gram_similarity, capsys)
    passes(lesson04.check_gram_similarity, lambda f: tf.reduce_mean(_upper(_cosines(f))), capsys)


@pytest.mark.parametrize("mistake", list(SIMILARITY_MISTAKES))
def test_gram_similarity_mistakes(mistake):
    function, phrase = SIMILARITY_MISTAKES[mistake]
    fails_with(lesson04.check_gram_similarity, function, phrase)
