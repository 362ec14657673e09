"""The lesson 09 checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from checkcases import blank, fails_with, passes
from deepdream_lib.course.checks import lesson09


# --- exercise 1: saliency_map ------------------------------------------------------------------------------
def saliency_map(gradient):
    return np.abs(gradient).max(axis=-1)


def _in_place_saliency(gradient):
    np.abs(gradient, out=gradient)
    return gradient.max(axis=-1)


SALIENCY_MISTAKES = {
    "signed max": (lambda g: g.max(axis=-1), "signed"),
    "mean over colours": (lambda g: np.abs(g).mean(axis=-1), "averaged"),
    "sum over colours": (lambda g: np.abs(g).sum(axis=-1), "summed"),
    "abs of the sum": (lambda g: np.abs(g.sum(axis=-1)), "summed"),
    "L2 norm": (lambda g: np.sqrt((g**2).sum(axis=-1)), "L2 norm"),
    "no reduction": (lambda g: np.abs(g), "reduce over the colour axis"),
    "wrong axis": (lambda g: np.abs(g).max(axis=0), "Wrong shape"),
    "in place": (_in_place_saliency, "in place"),
    "no return": (lambda g: None, "return"),
    "abs after the max": (lambda g: np.abs(g.max(axis=-1)), "*after* the max"),
    "keepdims": (lambda g: np.abs(g).max(axis=-1, keepdims=True), "keepdims"),
    "squared": (lambda g: (g**2).max(axis=-1), "squared"),
    "argmax": (lambda g: np.abs(g).argmax(axis=-1), "(argmax)"),
    "rescaled": (lambda g: np.abs(g).max(axis=-1) / np.abs(g).max(), "rescaled"),
    "smallest": (lambda g: np.abs(g).min(axis=-1), "*smallest*"),
    "signed largest size": (
        lambda g: np.take_along_axis(g, np.abs(g).argmax(axis=-1)[..., None], -1)[..., 0], "kept the sign"
    ),
    "abs of the mean": (lambda g: np.abs(g.mean(axis=-1)), "before the absolute"),
}


def test_saliency_map(capsys):
    fails_with(lesson09.check_saliency_map, blank, "Not implemented yet")
    passes(lesson09.check_saliency_map, saliency_map, capsys)
    passes(lesson09.check_saliency_map, lambda g: tf.reduce_max(tf.abs(g), axis=-1), capsys)


@pytest.mark.parametrize("mistake", sorted(SALIENCY_MISTAKES))
def test_saliency_map_diagnoses(mistake):
    function, phrase = SALIENCY_MISTAKES[mistake]
    fails_with(lesson09.check_saliency_map, function, phrase)


# --- exercise 2: smoothgrad --------------------------------------------------------------------------------
def smoothgrad(gradient_fn, image, num_samples, noise, seed=0):
    rng = np.random.default_rng(seed)
    total = np.zeros(image.shape[:2])
    for _ in range(num_samples):
        noisy = image + rng.normal(0.0, noise, image.shape)
        total += saliency_map(np.asarray(gradient_fn(noisy)))
    return total / num_samples


def _no_noise(gradient_fn, image, num_samples, noise, seed=0):
    return np.mean([saliency_map(np.asarray(gradient_fn(image))) for _ in range(num_samples)], axis=0)


def _signed_average(gradient_fn, image, num_samples, noise, seed=0):
    rng = np.random.default_rng(seed)
    noisy = [image + rng.normal(0.0, noise, image.shape) for _ in range(num_samples)]
    gradients = [np.asarray(gradient_fn(x)) for x in noisy]
    return saliency_map(np.mean(gradients, axis=0))


def _summed(gradient_fn, image, num_samples, noise, seed=0):
    return smoothgrad(gradient_fn, image, num_samples, noise, seed) * num_samples


def _variance(gradient_fn, image, num_samples, noise, seed=0):
    return smoothgrad(gradient_fn, image, num_samples, noise**2, seed)


def _once(gradient_fn, image, num_samples, noise, seed=0):
    rng = np.random.default_rng(seed)
    return saliency_map(np.asarray(gradient_fn(image + rng.normal(0.0, noise, image.shape))))


def _unseeded(gradient_fn, image, num_samples, noise, seed=0):
    return smoothgrad(gradient_fn, image, num_samples, noise, seed=None)


def _in_place_noise(gradient_fn, image, num_samples, noise, seed=0):
    rng = np.random.default_rng(seed)
    total = np.zeros(image.shape[:2])
    for _ in range(num_samples):
        noisy = image
        noisy += rng.normal(0.0, noise, image.shape).astype(image.dtype)
        total += saliency_map(np.asarray(gradient_fn(noisy)))
    return total / num_samples


def _noisy(draw=None, clip=False, aggregate=np.mean, saliency=saliency_map, reseed=False):
    """SmoothGrad with one part changed: how the noise is drawn, clipping, averaging, each copy's map."""

    def smooth(gradient_fn, image, num_samples, noise, seed=0):
        rng = np.random.default_rng(seed)
        maps = []
        for _ in range(num_samples):
            if reseed:
                rng = np.random.default_rng(seed)
            noisy = image + (draw or (lambda r, s, shape: r.normal(0.0, s, shape)))(rng, noise, image.shape)
            maps.append(saliency(np.asarray(gradient_fn(np.clip(noisy, 0, 1) if clip else noisy))))
        return aggregate(np.stack(maps), axis=0)

    return smooth


def _noise_on_the_gradient(gradient_fn, image, num_samples, noise, seed=0):
    rng = np.random.default_rng(seed)
    maps = [saliency_map(np.asarray(gradient_fn(image)) + rng.normal(0.0, noise, image.shape))
            for _ in range(num_samples)]
    return np.mean(maps, axis=0)


SMOOTHGRAD_MISTAKES = {
    "generator made in the loop": (_noisy(reseed=True), "same noise"),
    "one number per copy": (_noisy(draw=lambda r, s, shape: r.normal(0.0, s)), "one number of noise"),
    "one number per pixel": (
        _noisy(draw=lambda r, s, shape: r.normal(0.0, s, shape[:2])[..., None]), "same noise"
    ),
    "uniform noise": (_noisy(draw=lambda r, s, shape: r.uniform(-s, s, shape)), "not Gaussian"),
    "clipped copies": (_noisy(clip=True), "clipped them"),
    "sqrt(noise) as std": (_noisy(draw=lambda r, s, shape: r.normal(0.0, np.sqrt(s), shape)), "sqrt(noise)"),
    "noise on the gradient": (_noise_on_the_gradient, "without noise"),
    "median": (_noisy(aggregate=np.median), "median"),
    "largest map": (_noisy(aggregate=np.max), "largest of the maps"),
    "mean over colours": (_noisy(saliency=lambda g: np.abs(g).mean(axis=-1)), "*largest* of the three"),
    "no absolute value": (_noisy(saliency=lambda g: g.max(axis=-1)), "forgot the absolute value"),
    "divides by n - 1": (
        _noisy(aggregate=lambda maps, axis: maps.sum(axis=axis) / (len(maps) - 1)), "num_samples - 1"
    ),
    "seed ignored": (lambda f, x, n, s, seed=0: smoothgrad(f, x, n, s, 0), "ignored the seed"),
    "fixed num_samples": (lambda f, x, n, s, seed=0: smoothgrad(f, x, 16, s, seed), "16 times"),
    "no noise": (_no_noise, "no noise"),
    "signed average": (_signed_average, "cancelled"),
    "summed": (_summed, "summed"),
    "variance as std": (_variance, "variance"),
    "one call": (_once, "once per noisy copy"),
    "unseeded": (_unseeded, "same seed"),
    "in place": (_in_place_noise, "in place"),
    "no return": (lambda *args: None, "return"),
}


def test_smoothgrad(capsys):
    fails_with(lesson09.check_smoothgrad, blank, "Not implemented yet")
    passes(lesson09.check_smoothgrad, smoothgrad, capsys)


@pytest.mark.parametrize("mistake", sorted(SMOOTHGRAD_MISTAKES))
def test_smoothgrad_diagnoses(mistake):
    function, phrase = SMOOTHGRAD_MISTAKES[mistake]
    fails_with(lesson09.check_smoothgrad, function, phrase)


# --- exercise 3: rank_correlation --------------------------------------------------------------------------
def rank_correlation(a, b):
    ranks_a = np.argsort(np.argsort(np.ravel(a)))
    ranks_b = np.argsort(np.argsort(np.ravel(b)))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def _scipy_object(a, b):
    from scipy.stats import spearmanr

    return spearmanr(np.ravel(a), np.ravel(b))


def _rank(values):
    return np.argsort(np.argsort(np.ravel(values)))


def _row_ranks(values):
    return np.argsort(np.argsort(values, axis=-1), axis=-1).ravel()


RANK_MISTAKES = {
    "pearson": (lambda a, b: float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1]), "Pearson"),
    "argsort once": (
        lambda a, b: float(np.corrcoef(np.argsort(np.ravel(a)), np.argsort(np.ravel(b)))[0, 1]),
        "argsort",
    ),
    "matrix": (lambda a, b: np.corrcoef(np.ravel(a), np.ravel(b)), "2 x 2"),
    "no return": (lambda a, b: None, "return"),
    "covariance": (lambda a, b: float(np.cov(_rank(a), _rank(b))[0, 1]), "*covariance*"),
    "only one map ranked": (lambda a, b: float(np.corrcoef(_rank(a), np.ravel(b))[0, 1]), "only the first"),
    "rows ranked apart": (
        lambda a, b: float(np.corrcoef(_row_ranks(a), _row_ranks(b))[0, 1]), "each row on its own"
    ),
    "mean product of the ranks": (lambda a, b: float(np.mean(_rank(a) * _rank(b))), "between -1 and 1"),
    "absolute value": (lambda a, b: abs(rank_correlation(a, b)), "absolute value"),
}


def test_rank_correlation(capsys):
    fails_with(lesson09.check_rank_correlation, blank, "Not implemented yet")
    passes(lesson09.check_rank_correlation, rank_correlation, capsys)
    pytest.importorskip("scipy")
    passes(lesson09.check_rank_correlation, lambda a, b: _scipy_object(a, b).statistic, capsys)
    # the textbook formula (no ties) is the same number
    def textbook(a, b):
        d = _rank(a) - _rank(b)
        return 1 - 6 * float((d**2).sum()) / (d.size * (d.size**2 - 1))

    passes(lesson09.check_rank_correlation, textbook, capsys)


@pytest.mark.parametrize("mistake", sorted(RANK_MISTAKES))
def test_rank_correlation_diagnoses(mistake):
    function, phrase = RANK_MISTAKES[mistake]
    fails_with(lesson09.check_rank_correlation, function, phrase)


def test_rank_correlation_result_object():
    pytest.importorskip("scipy")
    fails_with(lesson09.check_rank_correlation, _scipy_object, "p-value")


# --- exercise 4: top_exemplars -----------------------------------------------------------------------------
def top_exemplars(activations, channel, k):
    means = np.asarray(activations).mean(axis=(1, 2))[:, channel]
    return np.argsort(-means)[:k]


TOP_MISTAKES = {
    "peak": (lambda acts, c, k: np.argsort(-acts.max(axis=(1, 2))[:, c])[:k], "largest* activation"),
    "smallest": (lambda acts, c, k: np.argsort(acts.mean(axis=(1, 2))[:, c])[:k], "smallest"),
    "ascending": (lambda acts, c, k: np.argsort(acts.mean(axis=(1, 2))[:, c])[-k:], "wrong order"),
    "values": (lambda acts, c, k: np.sort(acts.mean(axis=(1, 2))[:, c])[::-1][:k], "indices"),
    "fixed channel": (lambda acts, c, k: np.argsort(-acts.mean(axis=(1, 2))[:, 2])[:k], "channel"),
    "no return": (lambda acts, c, k: None, "return"),
    "all channels": (lambda acts, c, k: np.argsort(-acts.mean(axis=(1, 2, 3)))[:k], "all the channels"),
    "the channel as an image": (lambda acts, c, k: np.argsort(-acts.mean(axis=(1, 2))[c])[:k], "*channels*"),
    "images and rows averaged": (
        lambda acts, c, k: np.argsort(-acts[..., c].mean(axis=(0, 1)))[:k], "axes 0 and 1"
    ),
    "counts from 1": (lambda acts, c, k: top_exemplars(acts, c, k) + 1, "do not add 1"),
    "fixed k": (lambda acts, c, k: top_exemplars(acts, c, 3), "use the k argument"),
    "k - 1": (lambda acts, c, k: top_exemplars(acts, c, k - 1), "shape (3,)"),
    "sorts in place": (lambda acts, c, k: (acts.sort(axis=0), top_exemplars(acts, c, k))[1], "in place"),
}


def test_top_exemplars(capsys):
    fails_with(lesson09.check_top_exemplars, blank, "Not implemented yet")
    passes(lesson09.check_top_exemplars, top_exemplars, capsys)
    passes(
        lesson09.check_top_exemplars,
        lambda acts, c, k: tf.math.top_k(tf.reduce_mean(acts[..., c], axis=[1, 2]), k).indices,
        capsys,
    )


@pytest.mark.parametrize("mistake", sorted(TOP_MISTAKES))
def test_top_exemplars_diagnoses(mistake):
    function, phrase = TOP_MISTAKES[mistake]
    fails_with(lesson09.check_top_exemplars, function, phrase)
