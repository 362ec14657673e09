"""Checks for the exercises of lesson 09, "From DeepDream to interpretability".

Each check builds its own small arrays (no network needed), runs the learner's function and diagnoses
the usual mistakes: a saliency map without the absolute value or averaged over colours, SmoothGrad
without noise or averaged before the absolute value, a "rank" correlation computed on raw values or on
argsort's order instead of ranks, exemplars ranked by the peak activation or taken from the wrong end.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array


def _as_float(value: object, what: str) -> float:
    """The learner's scalar answer as a float, with a diagnosis for the usual wrappers."""
    if value is None:
        raise CheckFailed(f"{what} returned None: did you forget the `return`?")
    for name in ("statistic", "correlation"):
        if hasattr(value, name) and not isinstance(value, (float, int, np.floating, np.ndarray)):
            raise CheckFailed(
                f"{what} returned a {type(value).__name__} (a result object with a p-value). Return only the "
                f"correlation, e.g. `.{name}` of it."
            )
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CheckFailed(f"{what} returned a {type(value).__name__}, not a number: {error}") from None
    if array.size != 1:
        raise CheckFailed(
            f"{what} returned {array.size} numbers (shape {array.shape}); return one number. (np.corrcoef "
            "returns a 2 x 2 matrix: take its [0, 1] entry.)"
        )
    return float(array.reshape(-1)[0])


# --- exercise 1 --------------------------------------------------------------------------------------


def _reference_saliency(gradient: np.ndarray) -> np.ndarray:
    return np.abs(gradient).max(axis=-1)


@check("saliency_map takes |gradient| and the largest of the three colours at each pixel")
def check_saliency_map(saliency_map: Callable) -> None:
    rng = np.random.default_rng(9)
    gradient = rng.normal(0.0, 1.0, (6, 5, 3)).astype(np.float32)  # not square: catches swapped axes
    gradient[0, 0] = [-3.0, 0.5, 1.0]  # the largest size is negative
    original = gradient.copy()
    result = returned_array(saliency_map(gradient), "saliency_map")
    expect(
        np.array_equal(gradient, original), "Your function changed the gradient in place; return a new array."
    )
    expected = _reference_saliency(gradient)
    if result.shape == gradient.shape:
        raise CheckFailed(
            f"Your map has shape {result.shape}, the gradient's own shape. A saliency map has one number per "
            f"pixel, shape {expected.shape}: reduce over the colour axis (axis=-1)."
        )
    if result.shape != expected.shape:
        raise CheckFailed(
            f"Wrong shape {result.shape}: for a gradient of shape (H, W, 3) = {gradient.shape} the map is "
            f"(H, W) = {expected.shape}. Reduce over the last axis (colours), not over height or width."
        )
    if np.allclose(result, gradient.max(axis=-1), atol=1e-6):
        raise CheckFailed(
            f"You took the largest *signed* value: at pixel [0, 0] the gradient is "
            f"{gradient[0, 0].tolist()}, and -3 matters most (lowering that colour raises the score "
            "fastest). Take np.abs first, then max."
        )
    if np.allclose(result, np.abs(gradient).mean(axis=-1), atol=1e-6):
        raise CheckFailed(
            "You averaged |gradient| over the colours. Simonyan et al. take the *largest* of the three: max."
        )
    if np.allclose(result, np.abs(gradient).sum(axis=-1), atol=1e-6) or np.allclose(
        result, np.abs(gradient.sum(axis=-1)), atol=1e-6
    ):
        raise CheckFailed("You summed over the colours. Take the largest |gradient| of the three: max.")
    if np.allclose(result, np.sqrt((gradient**2).sum(axis=-1)), atol=1e-5):
        raise CheckFailed(
            "You took the length of the colour vector (L2 norm). That is a reasonable map too, but this "
            "exercise asks for Simonyan et al.'s: the largest |gradient| of the three colours."
        )
    expect(
        np.allclose(result, expected, atol=1e-6),
        f"At pixel [0, 0] your map is {result[0, 0]:.4f}; max |gradient| over the colours is "
        f"{expected[0, 0]:.4f}.",
    )


# --- exercise 2 --------------------------------------------------------------------------------------


def _expected_max_abs_normal(sigma: float) -> float:
    """E[max(|n1|, |n2|, |n3|)] for three independent N(0, sigma^2): a numerical integral."""
    x = np.linspace(0.0, 8.0, 8001)
    from math import erf, sqrt

    cdf_abs = np.array([erf(v / sqrt(2.0)) for v in x]) ** 3  # P(max |n| <= x sigma)
    return float(sigma * np.trapezoid(1.0 - cdf_abs, x))


@check("smoothgrad averages the saliency maps of noisy copies of the image")
def check_smoothgrad(smoothgrad: Callable) -> None:
    rng = np.random.default_rng(11)
    image = rng.uniform(0.2, 0.8, (8, 8, 3)).astype(np.float32)
    original = image.copy()
    calls = []

    def centred(x):  # gradient x - image: zero at the image itself, so only the noise shows
        calls.append(1)
        return np.asarray(x, np.float64) - image

    sigma, samples = 0.5, 64  # a large noise keeps the usual mistakes far apart
    result = returned_array(smoothgrad(centred, image, samples, sigma, 0), "smoothgrad")
    expect(np.array_equal(image, original), "Your function changed the image in place; add noise to a copy.")
    if result.shape != image.shape[:2]:
        raise CheckFailed(
            f"Wrong shape {result.shape}: SmoothGrad is an average of saliency maps, shape (H, W) = "
            f"{image.shape[:2]} (take |.| and the max over colours, as in exercise 1)."
        )
    if len(calls) == 1:
        raise CheckFailed(
            "gradient_fn was called once. SmoothGrad calls it once per noisy copy: num_samples times."
        )
    expect(
        len(calls) == samples,
        f"gradient_fn was called {len(calls)} times for num_samples={samples}; call it once per noisy copy.",
    )
    expected = _expected_max_abs_normal(sigma)
    mean = float(result.mean())
    if np.allclose(result, 0.0, atol=1e-9):
        raise CheckFailed(
            "Your map is zero everywhere: the copies got no noise. Add Gaussian noise with standard "
            "deviation `noise` to each copy: image + rng.normal(0, noise, image.shape)."
        )
    ratio = mean / expected
    if abs(ratio - samples) < 0.2 * samples:
        raise CheckFailed(
            f"Your map is about {samples} times too large: you summed the {samples} maps. Divide by "
            "num_samples (take the mean)."
        )
    if ratio < 0.3:
        raise CheckFailed(
            f"Your map is too small (mean {mean:.4f}, expected about {expected:.4f}): you probably averaged "
            "the signed gradients and took |.| at the end, so positive and negative values cancelled. Take "
            "the saliency (|.|, max over colours) of each copy first, then average the maps."
        )
    for wrong, text in ((sigma**2, "the variance (noise ** 2)"), (np.sqrt(sigma), "sqrt(noise)")):
        if abs(mean / _expected_max_abs_normal(wrong) - 1) < 0.1:
            raise CheckFailed(
                f"Your noise's standard deviation looks like {text}; use `noise` itself as the std."
            )
    expect(
        abs(ratio - 1) < 0.1,
        f"The mean of your map is {mean:.4f}; with noise of std {sigma} it should be about {expected:.4f}. "
        "(Add the noise to every colour of every pixel, and do not clip the noisy copies.)",
    )

    # the same seed gives the same map; noise = 0 gives the plain saliency map
    again = returned_array(smoothgrad(centred, image, samples, sigma, 0), "smoothgrad")
    expect(
        np.allclose(result, again),
        "Two calls with the same seed gave different maps. Draw the noise from "
        "np.random.default_rng(seed), so a result can be repeated.",
    )

    def tilted(x):  # a gradient with mixed signs and sizes
        x = np.asarray(x, np.float64)
        return np.stack([-2.0 * x[..., 0], x[..., 1], 3.0 * x[..., 2] - 1.5], axis=-1)

    plain = returned_array(smoothgrad(tilted, image, 3, 0.0, 0), "smoothgrad")
    expect(
        np.allclose(plain, _reference_saliency(tilted(image)), atol=1e-6),
        "With noise = 0 SmoothGrad must equal the plain saliency map (|gradient|, max over colours); yours "
        f"gives {plain[0, 0]:.3f} at pixel [0, 0] instead of {_reference_saliency(tilted(image))[0, 0]:.3f}.",
    )


# --- exercise 3 --------------------------------------------------------------------------------------


def _ranks(values: np.ndarray) -> np.ndarray:
    ranks = np.empty(values.size)
    ranks[np.argsort(values, kind="stable")] = np.arange(values.size)
    return ranks


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.reshape(-1), b.reshape(-1))[0, 1])


@check("rank_correlation ranks both maps and correlates the ranks (Spearman)")
def check_rank_correlation(rank_correlation: Callable) -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(0.0, 1.0, (7, 9))
    b = np.exp(3 * a)  # same order, very different values
    same_order = _as_float(rank_correlation(a, b), "rank_correlation")
    if abs(same_order - _pearson(a, b)) < 1e-6:
        raise CheckFailed(
            f"For b = exp(3 a) you gave {same_order:.3f}: that is the Pearson correlation of the raw values. "
            "b orders the pixels exactly like a, so the rank correlation is 1: replace the values by their "
            "ranks first."
        )
    if (
        abs(same_order - _pearson(np.argsort(a.reshape(-1)), np.argsort(b.reshape(-1)))) < 1e-9
        and abs(same_order - 1) > 1e-6
    ):
        raise CheckFailed(
            "np.argsort gives the *order* (which index is smallest, next...), not the *ranks*. The ranks are "
            "np.argsort(np.argsort(x)) (or scipy.stats.rankdata)."
        )
    expect(
        abs(same_order - 1) < 1e-6,
        f"Two maps that order the pixels alike (b = exp(3 a)) must give 1; yours gives {same_order:.4f}.",
    )
    reversed_order = _as_float(rank_correlation(a, -b), "rank_correlation")
    if abs(reversed_order - _pearson(np.argsort(a.reshape(-1)), np.argsort(-b.reshape(-1)))) < 1e-9:
        raise CheckFailed(
            f"For b and -b you gave {reversed_order:.3f} instead of -1. np.argsort gives the *order* (which "
            "index is smallest, next...), not the *ranks*. The ranks are np.argsort(np.argsort(x)) (or "
            "scipy.stats.rankdata)."
        )
    expect(abs(reversed_order + 1) < 1e-6, f"Reversed order must give -1; yours gives {reversed_order:.4f}.")

    c = rng.normal(0.0, 1.0, (7, 9))
    d = c + rng.normal(0.0, 1.0, (7, 9)) ** 3  # related, not monotone
    expected = _pearson(_ranks(c.reshape(-1)), _ranks(d.reshape(-1)))
    value = _as_float(rank_correlation(c, d), "rank_correlation")
    if abs(value - _pearson(np.argsort(c.reshape(-1)), np.argsort(d.reshape(-1)))) < 1e-9:
        raise CheckFailed(
            "np.argsort gives the *order*, not the *ranks*. The ranks are np.argsort(np.argsort(x)) (or "
            "scipy.stats.rankdata)."
        )
    if abs(value - _pearson(c, d)) < 1e-6:
        raise CheckFailed("That is the Pearson correlation of the raw values: correlate the ranks instead.")
    expect(
        abs(value - expected) < 1e-6,
        f"For two related random maps you gave {value:.4f}; the Spearman correlation is {expected:.4f}. "
        "Rank both maps (flattened), then take the Pearson correlation of the ranks.",
    )


# --- exercise 4 --------------------------------------------------------------------------------------


@check("top_exemplars ranks the images by the channel's mean activation, largest first")
def check_top_exemplars(top_exemplars: Callable) -> None:
    rng = np.random.default_rng(13)
    activations = rng.uniform(0.0, 1.0, (10, 4, 4, 5))
    activations[3, 0, 0, 2] = 20.0  # one hot spot: the largest peak, but not the largest mean
    activations[7, ..., 2] += 2.0  # the largest mean of channel 2
    activations[5, ..., 2] += 1.5  # the second largest
    activations[1, ..., 0] += 5.0  # channel 0 says image 1; channel 2 must not
    original = activations.copy()
    means = activations.mean(axis=(1, 2))[:, 2]
    expected = np.argsort(-means, kind="stable")[:3]

    result = returned_array(top_exemplars(activations, 2, 3), "top_exemplars", dtype=None)
    expect(np.array_equal(activations, original), "Your function changed the activations in place.")
    if result.shape != (3,):
        raise CheckFailed(
            f"Return the indices of the k = 3 best images, shape (3,); yours has shape {result.shape}."
        )
    if not np.issubdtype(result.dtype, np.integer):
        if np.allclose(np.sort(result), np.sort(means[expected])):
            raise CheckFailed("You returned the activations themselves; return the images' *indices*.")
        raise CheckFailed(f"Return integer indices of images, not {result.dtype} values.")
    peaks = activations.max(axis=(1, 2))[:, 2]
    if np.array_equal(result, np.argsort(-peaks, kind="stable")[:3]) and not np.array_equal(result, expected):
        raise CheckFailed(
            "You ranked the images by the channel's *largest* activation (one hot spot wins). Rank by its "
            "mean over all positions, as the channel objective does: mean over axes 1 and 2."
        )
    if np.array_equal(result, np.argsort(means, kind="stable")[:3]):
        raise CheckFailed("You took the 3 images with the *smallest* activation; we want the largest.")
    if set(result.tolist()) == set(expected.tolist()) and not np.array_equal(result, expected):
        raise CheckFailed(
            f"The right images, in the wrong order ({result.tolist()}); put the largest first: "
            f"{expected.tolist()}."
        )
    expect(
        np.array_equal(result, expected),
        f"For channel 2 the images with the largest mean activation are {expected.tolist()}; you gave "
        f"{result.tolist()}. The channel is the *last* axis of (N, H, W, C); average over H and W.",
    )
    other = returned_array(top_exemplars(activations, 0, 1), "top_exemplars", dtype=None)
    expect(
        other.reshape(-1).tolist() == [1],
        f"For channel 0 the best image is 1; you gave {other.reshape(-1).tolist()}. Use the `channel` "
        "argument.",
    )
