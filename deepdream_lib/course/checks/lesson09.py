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


def _diagnose_saliency(result: np.ndarray, gradient: np.ndarray) -> None:
    """Name the mistake of an (H, W) map that is not max |gradient| over the colours."""
    largest = np.take_along_axis(gradient, np.abs(gradient).argmax(axis=-1)[..., None], axis=-1)[..., 0]
    expected = np.abs(gradient).max(axis=-1)
    mistakes = [
        (np.abs(gradient.max(axis=-1)), "You took the absolute value *after* the max: the max picks the "
         "largest signed value (0.5 at pixel [0, 0], where -3 matters most). Take np.abs first, then max."),
        (largest, "You kept the sign of the largest-size colour (-3 at pixel [0, 0]). The saliency map is "
         "the size, max |gradient|: a pixel whose darkening raises the score matters as much."),
        ((gradient**2).max(axis=-1), "You squared the gradient; take its absolute value, max |gradient|."),
        (np.abs(gradient).argmax(axis=-1), "You returned *which* colour has the largest |gradient| "
         "(argmax); return that largest value itself (max)."),
        (expected / expected.max(), "You rescaled the map (divided by its largest value); return max "
         "|gradient| as it is (scale it for display only)."),
        (np.abs(gradient).min(axis=-1), "You took the *smallest* |gradient| of the three colours: use max."),
        (np.abs(gradient.mean(axis=-1)), "You averaged the colours (with their signs) before the absolute "
         "value: opposite colours cancel. Take np.abs first, then the max over the colours."),
    ]
    for candidate, message in mistakes:
        if np.allclose(result, candidate, atol=1e-6) and not np.allclose(candidate, expected, atol=1e-6):
            raise CheckFailed(message)


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
    if result.shape == (*expected.shape, 1):
        raise CheckFailed(
            f"Wrong shape {result.shape}: keepdims=True kept the colour axis. Leave it out, so that the map "
            f"is (H, W) = {expected.shape}."
        )
    if result.shape != expected.shape:
        raise CheckFailed(
            f"Wrong shape {result.shape}: for a gradient of shape (H, W, 3) = {gradient.shape} the map is "
            f"(H, W) = {expected.shape}. Reduce over the last axis (colours), not over height or width."
        )
    _diagnose_saliency(result, gradient.astype(np.float64))
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


def _diagnose_noise(noises: np.ndarray, image: np.ndarray, sigma: float) -> None:
    """Name the mistake in the noise of the copies that gradient_fn saw (``noises``: (n, H, W, 3))."""
    if np.allclose(noises, noises[0], atol=1e-12):
        raise CheckFailed(
            "Every noisy copy got the same noise: the generator was made again for each copy "
            "(np.random.default_rng(seed) inside the loop), so each draw repeats. Make it once, before the "
            "loop, and draw a new noise from it for each copy."
        )
    if np.allclose(noises, noises.mean(axis=(1, 2, 3), keepdims=True), atol=1e-12):
        raise CheckFailed(
            "Each copy got one number of noise, added to every pixel alike (rng.normal(0, noise) without a "
            "size). Draw one value per colour of every pixel: rng.normal(0, noise, image.shape)."
        )
    if np.allclose(noises, noises[..., :1], atol=1e-12):
        raise CheckFailed(
            "The three colours of a pixel got the same noise: you drew (H, W) values. Draw one per colour "
            "too: rng.normal(0, noise, image.shape)."
        )
    copies = image + noises
    if copies.min() >= -1e-6 and copies.max() <= 1 + 1e-6:
        raise CheckFailed(
            "Your noisy copies stay inside [0, 1]: you clipped them. Do not clip: clipping cuts the noise "
            "off near 0 and 1, so the copies no longer sample the image's neighbourhood evenly."
        )
    relative = noises / image
    if abs(float(relative.std()) - sigma) < 0.05 * sigma and abs(float(noises.std()) - sigma) > 0.1 * sigma:
        raise CheckFailed(
            "Your noise grows with the pixel's value: you multiplied the image by (1 + noise). Add it: "
            "image + rng.normal(0, noise, image.shape)."
        )
    kurtosis = float(((noises - noises.mean()) ** 4).mean() / noises.var() ** 2)
    if abs(kurtosis - 3.0) > 0.5:
        raise CheckFailed(
            "Your noise is not Gaussian (a uniform draw?): SmoothGrad adds normal noise, "
            "rng.normal(0, noise, image.shape)."
        )
    spread = float(noises.std())
    for wrong, text in ((sigma**2, "the variance (noise ** 2)"), (np.sqrt(sigma), "sqrt(noise)")):
        if abs(spread / wrong - 1) < 0.1:
            raise CheckFailed(
                f"Your noise's standard deviation is {spread:.3f}, like {text}; use `noise` = {sigma} "
                "itself as the std: rng.normal(0, noise, image.shape)."
            )
    if abs(spread / sigma - 1) > 0.1:
        raise CheckFailed(
            f"Your noise's standard deviation is {spread:.3f}; it must be `noise` = {sigma}: "
            "rng.normal(0, noise, image.shape)."
        )


def _diagnose_average(result: np.ndarray, noises: np.ndarray) -> None:
    """Name the mistake of a map that is not the mean of the copies' saliency maps (gradient = noise)."""
    maps = np.abs(noises).max(axis=-1)
    samples = len(noises)
    mistakes = [
        (maps.sum(axis=0), f"Your map is {samples} times too large: you summed the {samples} maps. Divide by "
         "num_samples (take the mean)."),
        (maps.sum(axis=0) / (samples - 1), "You divided the sum by num_samples - 1; the mean divides by "
         "num_samples."),
        (np.abs(noises.mean(axis=0)).max(axis=-1), "You averaged the signed gradients and took |.| at the "
         "end, so positive and negative values cancelled. Take the saliency (|.|, max over colours) of each "
         "copy first, then average the maps."),
        (np.median(maps, axis=0), "You took the median of the maps; SmoothGrad takes their mean."),
        (maps.max(axis=0), "You kept the largest of the maps at each pixel; SmoothGrad takes their mean."),
        (np.abs(noises).mean(axis=-1).mean(axis=0), "You averaged |gradient| over the colours; the saliency "
         "map of each copy takes the *largest* of the three (max), as in exercise 1."),
        (noises.max(axis=-1).mean(axis=0), "You forgot the absolute value: each copy's map is max |gradient| "
         "over the colours, as in exercise 1."),
    ]
    for candidate, message in mistakes:
        if np.allclose(result, candidate, atol=1e-6):
            raise CheckFailed(message)
    raise CheckFailed(
        "Your map is not the mean of the noisy copies' saliency maps: for each copy take |gradient| and the "
        "max over the colours (exercise 1), then average those num_samples maps."
    )


@check("smoothgrad averages the saliency maps of noisy copies of the image")
def check_smoothgrad(smoothgrad: Callable) -> None:
    rng = np.random.default_rng(11)
    image = rng.uniform(0.2, 0.8, (8, 8, 3)).astype(np.float32)
    original = image.copy()
    seen: list[np.ndarray] = []

    def centred(x):  # gradient x - image: zero at the image itself, so the gradient *is* the noise
        gradient = np.asarray(x, np.float64) - image
        seen.append(gradient)
        return gradient

    sigma, samples = 0.5, 64  # a large noise keeps the usual mistakes far apart
    result = returned_array(smoothgrad(centred, image, samples, sigma, 0), "smoothgrad")
    expect(np.array_equal(image, original), "Your function changed the image in place; add noise to a copy.")
    if result.shape != image.shape[:2]:
        raise CheckFailed(
            f"Wrong shape {result.shape}: SmoothGrad is an average of saliency maps, shape (H, W) = "
            f"{image.shape[:2]} (take |.| and the max over colours, as in exercise 1)."
        )
    if len(seen) == 1:
        raise CheckFailed(
            "gradient_fn was called once. SmoothGrad calls it once per noisy copy: num_samples times."
        )
    expect(
        len(seen) == samples,
        f"gradient_fn was called {len(seen)} times for num_samples={samples}; call it once per noisy copy.",
    )
    noises = np.stack(seen)
    if np.allclose(noises, 0.0, atol=1e-9):
        if np.allclose(result, 0.0, atol=1e-9):
            raise CheckFailed(
                "Your map is zero everywhere: the copies got no noise. Add Gaussian noise with standard "
                "deviation `noise` to each copy: image + rng.normal(0, noise, image.shape)."
            )
        raise CheckFailed(
            "gradient_fn always saw the image itself, without noise: you added the noise somewhere else (to "
            "the gradient?). Add it to the image copies, then take each copy's gradient."
        )
    _diagnose_noise(noises, image.astype(np.float64), sigma)
    if not np.allclose(result, np.abs(noises).max(axis=-1).mean(axis=0), atol=1e-6):
        _diagnose_average(result, noises)

    # the same seed gives the same map, another seed another one; noise = 0 gives the plain saliency map
    again = returned_array(smoothgrad(centred, image, samples, sigma, 0), "smoothgrad")
    expect(
        np.allclose(result, again),
        "Two calls with the same seed gave different maps. Draw the noise from "
        "np.random.default_rng(seed), so a result can be repeated.",
    )
    other = returned_array(smoothgrad(centred, image, samples, sigma, 1), "smoothgrad")
    expect(
        not np.allclose(result, other),
        "With seed=1 your map is the same as with seed=0: you ignored the seed argument. Draw the noise "
        "from np.random.default_rng(seed).",
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


def _diagnose_rank_variants(rank_correlation: Callable) -> None:
    """Compare the learner's value on two related maps with the usual wrong formulas."""
    rng = np.random.default_rng(6)
    c = rng.normal(0.0, 1.0, (6, 8))
    d = c + rng.normal(0.0, 1.0, (6, 8))
    value = _as_float(rank_correlation(c, d), "rank_correlation")
    ranks_c, ranks_d = _ranks(c.reshape(-1)), _ranks(d.reshape(-1))
    row_ranks = [np.argsort(np.argsort(x, axis=-1), axis=-1).reshape(-1) for x in (c, d)]
    mistakes = [
        (float(np.cov(ranks_c, ranks_d)[0, 1]), "You returned the *covariance* of the ranks; the "
         "correlation divides it by both standard deviations, so it lies in [-1, 1]: "
         "np.corrcoef(ranks_a, ranks_b)[0, 1]."),
        (_pearson(ranks_c, d), "You ranked only the first map; rank both, then correlate the two rank "
         "vectors."),
        (_pearson(*row_ranks), "You ranked each row on its own (argsort along the last axis). Flatten both "
         "maps first (np.ravel), so that every pixel is ranked against all the others."),
    ]
    for candidate, message in mistakes:
        if abs(value - candidate) < 1e-6 and abs(candidate - _pearson(ranks_c, ranks_d)) > 1e-6:
            raise CheckFailed(message)
    if abs(value) > 1 + 1e-9:
        raise CheckFailed(
            f"You returned {value:.4g}, but a correlation lies between -1 and 1. Correlate the ranks with "
            "np.corrcoef(ranks_a, ranks_b)[0, 1]."
        )


@check("rank_correlation ranks both maps and correlates the ranks (Spearman)")
def check_rank_correlation(rank_correlation: Callable) -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(0.0, 1.0, (7, 9))
    b = np.exp(3 * a)  # same order, very different values
    _diagnose_rank_variants(rank_correlation)
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
    if abs(reversed_order - 1) < 1e-6:
        raise CheckFailed(
            "For b and -b (exactly opposite orders) you gave +1: you took the absolute value. The sign says "
            "whether the maps agree (+1) or are opposite (-1); keep it."
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
    all_means = activations.mean(axis=(1, 2))  # (N, C)
    mistakes = [
        (np.argsort(-all_means.mean(axis=1), kind="stable")[:3], "You averaged over all the channels; score "
         "each image by channel `channel` only: activations.mean(axis=(1, 2))[:, channel]."),
        (np.argsort(-all_means[2], kind="stable")[:3], "You ranked the *channels* of image 2: "
         "activations.mean(axis=(1, 2))[channel] picks an image. The channel is the last axis: "
         "[:, channel]."),
        (np.argsort(-activations[..., 2].mean(axis=(0, 1)), kind="stable")[:3], "You averaged over the "
         "images and the rows (axes 0 and 1), so you ranked columns. Average each image over height and "
         "width, axes 1 and 2."),
        (expected + 1, "Every index is one too large: images are numbered from 0, as np.argsort numbers "
         "them; do not add 1."),
    ]
    for candidate, message in mistakes:
        if np.array_equal(result, candidate) and not np.array_equal(candidate, expected):
            raise CheckFailed(message)
    expect(
        np.array_equal(result, expected),
        f"For channel 2 the images with the largest mean activation are {expected.tolist()}; you gave "
        f"{result.tolist()}. The channel is the *last* axis of (N, H, W, C); average over H and W.",
    )
    other = returned_array(top_exemplars(activations, 0, 1), "top_exemplars", dtype=None)
    expect(
        other.size == 1,
        f"Asked for k = 1 you returned {other.size} indices: use the k argument, not a number of your own.",
    )
    expect(
        other.reshape(-1).tolist() == [1],
        f"For channel 0 the best image is 1; you gave {other.reshape(-1).tolist()}. Use the `channel` "
        "argument.",
    )
