"""Measurements that turn "look, it changed" into numbers: spectra, pattern size, receptive fields.

Lessons use these to back their claims with ``assert`` statements: deeper layers change coarser structure,
unregularised dreams pile energy into high frequencies, strides leave spectral peaks. Receptive fields
come two ways, from the layers' windows (:func:`chain_of`, :func:`receptive_field_by_formula`) and from
the pixels a unit's gradient reaches (:func:`centre_gradient`, :func:`receptive_field`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from deepdream_lib.errors import DeepDreamError
from deepdream_lib.models import Backbone, as_backbone


def grayscale(image: np.ndarray) -> np.ndarray:
    """The mean of the colour channels, (H, W, 3) -> (H, W) float64; an (H, W) array stays as it is."""
    image = np.asarray(image, dtype=np.float64)
    return image.mean(axis=-1) if image.ndim == 3 else image


def power_spectrum(image: np.ndarray) -> np.ndarray:
    """Centred 2-D power spectrum ``|FFT|^2`` of the grayscale image, mean removed."""
    gray = grayscale(image)
    return np.abs(np.fft.fftshift(np.fft.fft2(gray - gray.mean()))) ** 2


def spectrum_frequencies(shape: tuple[int, int]) -> np.ndarray:
    """Spatial frequency (cycles per pixel) of each entry of a centred spectrum (:func:`power_spectrum`)."""
    fy = np.fft.fftshift(np.fft.fftfreq(shape[0]))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(shape[1]))[None, :]
    return np.sqrt(fx**2 + fy**2)


def radial_spectrum(image: np.ndarray, bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Power averaged over rings of equal spatial frequency.

    Returns ``(frequencies, power)``: frequencies in cycles per pixel from 0 to 0.5 (bin centres).
    """
    power = power_spectrum(image)
    radius = spectrum_frequencies(power.shape)
    edges = np.linspace(0.0, 0.5, bins + 1)
    index = np.clip(np.digitize(radius, edges) - 1, 0, bins - 1)
    inside = radius <= 0.5
    totals = np.bincount(index[inside], weights=power[inside], minlength=bins)
    counts = np.maximum(np.bincount(index[inside], minlength=bins), 1)
    return (edges[:-1] + edges[1:]) / 2, totals / counts


def high_frequency_fraction(image: np.ndarray, cutoff: float = 0.25) -> float:
    """Share of the image's spectral energy above ``cutoff`` cycles/pixel (0.5 is the finest)."""
    power = power_spectrum(image)
    radius = spectrum_frequencies(power.shape)
    total = power.sum()
    return float(power[radius > cutoff].sum() / total) if total > 0 else 0.0


def spectral_centroid(image: np.ndarray) -> float:
    """Power-weighted mean spatial frequency, in cycles per pixel."""
    power = power_spectrum(image)
    radius = spectrum_frequencies(power.shape)
    total = power.sum()
    return float((radius * power).sum() / total) if total > 0 else 0.0


def pattern_size(change: np.ndarray) -> float:
    """Typical size in pixels of the patterns in ``change`` (e.g. dream minus original): 1 / centroid."""
    centroid = spectral_centroid(change)
    return float("inf") if centroid == 0 else 1.0 / centroid


# --- receptive fields: by formula and by gradient --------------------------------------------------------

MERGE_LAYERS = ("Add", "Concatenate", "Multiply", "Average", "Maximum", "Subtract")


def chain_of(backbone: Backbone, layer: str) -> list[tuple[int, int]]:
    """The ``(kernel_size, stride)`` of every convolution and pooling layer from the input to ``layer``.

    Read from the Keras layers themselves (``kernel_size`` or ``pool_size``, and ``strides``), in
    network order. Layers without a window (ReLU, batch norm) do not change the field and are left
    out. Only for plain stacks such as VGG16: a network with branches raises
    :class:`~deepdream_lib.errors.DeepDreamError`.
    """
    layer = backbone.check_layer(layer)
    merging = [item.name for item in backbone.model.layers if type(item).__name__ in MERGE_LAYERS]
    if merging:
        raise DeepDreamError(
            f"{backbone.name} has branches (e.g. {merging[0]}); chain_of only reads plain stacks such as VGG."
        )
    chain = []
    for item in backbone.model.layers:
        size = getattr(item, "kernel_size", None) or getattr(item, "pool_size", None)
        if size is not None:
            chain.append((int(np.atleast_1d(size)[0]), int(np.atleast_1d(item.strides)[0])))
        if item.name == layer:
            return chain
    raise DeepDreamError(f"{layer} was not found in {backbone.name}.")  # pragma: no cover


def receptive_field_by_formula(chain: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """Receptive field and jump, in input pixels, after a chain of ``(kernel_size, stride)`` layers.

    :math:`r_l = r_{l-1} + (k_l - 1) J_{l-1}`, :math:`J_l = J_{l-1} s_l`, :math:`r_0 = J_0 = 1`, where
    :math:`J_{l-1} = \\prod_{i<l} s_i` is how many input pixels apart neighbouring units of layer
    :math:`l - 1` sit. Returns ``(r, J)`` of the last layer; the chain is listed input first, e.g.
    ``receptive_field_by_formula(chain_of(backbone, "block5_conv3"))``.
    """
    field, jump = 1, 1
    for kernel_size, stride in chain:
        field += (int(kernel_size) - 1) * jump
        jump *= int(stride)
    return field, jump


def centre_gradient(
    backbone: Backbone, layer: str, size: int = 224, index: int | None = None, seed: int = 0
) -> np.ndarray:
    """Gradient of one centre unit of ``layer`` with respect to a random ``size`` x ``size`` image.

    The unit is channel ``index`` at the centre of the feature map, or (``index=None``) the sum of all
    channels there. Returns (size, size, 3): non-zero exactly on the pixels the unit can see. The
    gradient is the engine's (:func:`~deepdream_lib.engine.objective_and_gradient`), so a network whose
    eager gradient could crash oneDNN (a kernel smaller than its stride) is differentiated compiled.
    """
    from deepdream_lib.engine import objective_and_gradient
    from deepdream_lib.objectives import Objective, neuron

    layer = backbone.check_layer(layer)
    if index is None:

        def centre(acts: dict[str, tf.Tensor]) -> tf.Tensor:
            feature_map = acts[layer]
            row, col = tf.shape(feature_map)[1] // 2, tf.shape(feature_map)[2] // 2
            return tf.reduce_sum(feature_map[:, row, col, :], axis=-1)

        unit = Objective(centre, [layer], f'centre_unit("{layer}")')
    else:
        unit = neuron(layer, index)
    images = tf.random.stateless_uniform((1, size, size, 3), seed=(seed, size))
    return objective_and_gradient(backbone, unit, images)[1].numpy()[0]


def support_box(gradient: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)``, inclusive, of the pixels where ``gradient`` (H, W[, 3]) is non-zero.

    None if it is zero everywhere. For :func:`centre_gradient` this box is the unit's receptive field.
    """
    values = np.abs(np.asarray(gradient, dtype=np.float64))
    support = (values.sum(axis=-1) if values.ndim == 3 else values) > 0
    rows, cols = np.nonzero(support.any(axis=1))[0], np.nonzero(support.any(axis=0))[0]
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def receptive_field(backbone: Backbone, layer: str, seed: int = 0) -> int:
    """Measured receptive field, in input pixels, of a unit at the centre of ``layer``.

    The gradient of that unit with respect to the input is non-zero exactly on the pixels it can see
    (:func:`centre_gradient`); we measure the side of that square on a random image, grown until the
    field fits inside.
    """
    return _receptive_field_cached(backbone, backbone.check_layer(layer), seed)


@functools.lru_cache(maxsize=64)
def _receptive_field_cached(backbone: Backbone, layer: str, seed: int) -> int:
    size = 64
    while True:
        box = support_box(centre_gradient(backbone, layer, size, seed=seed))
        if box is None:
            return 0
        top, bottom, left, right = box
        touches = top == 0 or bottom == size - 1 or left == 0 or right == size - 1
        if not touches or size >= 1024:
            return max(bottom - top + 1, right - left + 1)
        size *= 2


def relative_gain(history: list[float]) -> float:
    """How much the objective rose over a dream: ``(last - first) / |first|``."""
    first, last = history[0], history[-1]
    return (last - first) / max(abs(first), 1e-12)


def edge_correlation(image: np.ndarray, activation: np.ndarray | tf.Tensor) -> float:
    """How much a layer's response looks like an edge map of the image (Pearson correlation, -1 to 1).

    Correlates the layer's mean feature map (averaged over channels) with the Sobel edge strength of the
    grayscale image, averaged down to the feature map's size. Near 1: on average the layer lights up
    where the edges are; near 0: its response has little to do with fine edges.
    """
    from skimage.filters import sobel

    activation = np.asarray(activation, dtype=np.float64)
    activation = activation[0] if activation.ndim == 4 else activation
    response = activation.mean(axis=-1)
    edges = sobel(grayscale(image))[None, :, :, None]
    edges = tf.image.resize(edges, response.shape, method="area").numpy()[0, :, :, 0]
    if response.std() == 0 or edges.std() == 0:
        return 0.0
    return float(np.corrcoef(response.ravel(), edges.ravel())[0, 1])


def gradient_std(backbone: Backbone, image: np.ndarray, layer: str) -> float:
    """Standard deviation of the *raw* gradient of ``layer``'s mean activation with respect to the pixels.

    This is the scale a plain ``image += step_size * gradient`` step would use; it differs between
    layers and images by more than ten times and shrinks with the image's area (the objective is a
    mean over positions), which is why DeepDream normalises the gradient.
    """
    from deepdream_lib.engine import objective_and_gradient
    from deepdream_lib.objectives import layer as layer_objective

    images = tf.constant(np.asarray(image, dtype=np.float32)[None])
    _, gradient = objective_and_gradient(backbone, layer_objective(backbone.check_layer(layer)), images)
    return float(tf.math.reduce_std(gradient))


def channel_means(model: Backbone | str, layer: str, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The mean activation of every channel of ``layer`` for each image (N, H, W, 3): shape (N, C).

    Images go through the network ``batch_size`` at a time, so thousands of patches fit in memory.
    """
    backbone = as_backbone(model)
    backbone.check_layer(layer)
    images = np.asarray(images, np.float32)
    means = []
    for start in range(0, len(images), batch_size):
        activations = backbone.activations(tf.constant(images[start : start + batch_size]), [layer])[layer]
        means.append(tf.reduce_mean(activations, axis=[1, 2]).numpy())
    return np.concatenate(means).astype(np.float64)


def gram_matrix(features: tf.Tensor | np.ndarray) -> tf.Tensor:
    """The Gram (style) matrix of each feature map of a batch: (B, h, w, C) -> (B, C, C).

    Entry ``(c, d)`` is the mean over the ``h * w`` positions of channel ``c`` times channel ``d``: which
    features occur together, wherever they are (Gatys et al. 2015, the statistics style transfer
    matches). Differentiable, in the dtype of ``features`` (float64 in, float64 out).
    """
    features = tf.convert_to_tensor(features)
    if features.shape.rank != 4:
        raise DeepDreamError(f"Expected feature maps (B, h, w, C), got shape {tuple(features.shape)}.")
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], features.dtype)
    return tf.einsum("bhwc,bhwd->bcd", features, features) / positions


def gram_cosines(features: tf.Tensor | np.ndarray) -> tf.Tensor:
    """Cosine similarity of every pair of the batch's Gram matrices: (B, h, w, C) -> (B, B).

    Entry ``(i, j)`` is ``<G_i, G_j> / (|G_i| |G_j|)`` with each :func:`gram_matrix` flattened: 1 when
    two images have the same feature statistics up to a scale, lower the more their styles differ
    (non-negative for ReLU features). The diagonal is 1 (0 for an all-zero map). Differentiable: the
    :func:`~deepdream_lib.objectives.diversity` objective and :func:`gram_similarity` both use it.
    """
    grams = gram_matrix(features)
    unit = tf.math.l2_normalize(tf.reshape(grams, (tf.shape(grams)[0], -1)), axis=1, epsilon=1e-24)
    return tf.matmul(unit, unit, transpose_b=True)


def similarity_to_others(features: tf.Tensor | np.ndarray) -> tf.Tensor:
    """Each image's mean :func:`gram_cosines` with the *other* images of its batch: (B, ...) -> (B,).

    The diagonal (an image's similarity to itself) is left out, so the mean over the batch of these
    values is the mean pairwise similarity of the set. A batch of one has no others: its value is 0.
    """
    cosines = gram_cosines(features)
    others = tf.reduce_sum(cosines, axis=1) - tf.linalg.diag_part(cosines)
    count = tf.cast(tf.shape(cosines)[0] - 1, cosines.dtype)
    return tf.math.divide_no_nan(others, count)


def gram_similarity(
    batch: np.ndarray | tf.Tensor, model: Backbone | str | None = None, layer: str | None = None
) -> float:
    """Mean pairwise cosine similarity of a set's Gram matrices: how alike its styles are (1 = alike).

    ``batch`` is a set of feature maps (N, h, w, C), or with ``layer`` a set of images (N, H, W, 3) in
    [0, 1], whose activations at ``layer`` of ``model`` (default ``"vgg16_hed"``) are compared. The mean
    runs over the N (N - 1) / 2 pairs of different images, in float64; it needs at least two.
    """
    if layer is not None:
        backbone = as_backbone(model or "vgg16_hed")
        backbone.check_layer(layer)
        images = np.asarray(batch, dtype=np.float32)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise DeepDreamError(f"Expected a set of images (N, H, W, 3), got shape {images.shape}.")
        batch = backbone.activations(tf.constant(images), [layer])[layer]
    elif model is not None:
        raise DeepDreamError("gram_similarity: with a model, name the layer to compare (layer=...).")
    features = tf.cast(tf.convert_to_tensor(batch), tf.float64)
    if features.shape.rank != 4 or features.shape[0] < 2:
        raise DeepDreamError(
            f"gram_similarity compares a set of at least two feature maps (N, h, w, C), got shape "
            f"{tuple(features.shape)}."
        )
    return float(tf.reduce_mean(similarity_to_others(features)))


def clipped_fraction(image: np.ndarray, tolerance: float = 0.5 / 255) -> float:
    """Share of pixel values pinned at 0 or 1 (within ``tolerance``): how saturated a dream is."""
    image = np.asarray(image, dtype=np.float64)
    return float(np.mean((image <= tolerance) | (image >= 1.0 - tolerance)))


def color_histogram_distance(a: np.ndarray, b: np.ndarray, bins: int = 32) -> float:
    """How different two images' colour distributions are: 0 = same histograms, 1 = no overlap.

    For each of R, G and B, the total-variation distance between the two normalised histograms
    (half the sum of absolute differences), averaged over the channels. Ignores where colours are,
    only counts how much of each there is; the images may differ in size.
    """
    distances = []
    for c in range(3):
        ha, _ = np.histogram(np.asarray(a)[..., c], bins=bins, range=(0.0, 1.0))
        hb, _ = np.histogram(np.asarray(b)[..., c], bins=bins, range=(0.0, 1.0))
        distances.append(0.5 * np.abs(ha / max(ha.sum(), 1) - hb / max(hb.sum(), 1)).sum())
    return float(np.mean(distances))


def spectral_slope(image: np.ndarray, low: float = 0.02, high: float = 0.5, bins: int = 32) -> float:
    """Slope of log power against log frequency between ``low`` and ``high`` cycles/pixel.

    Natural photos fall off like 1/f^2 (slope about -2); white noise is flat (slope 0). A dream whose
    slope is near 0 has as much energy in its finest patterns as in its coarse ones: it looks like noise.
    """
    frequencies, power = radial_spectrum(image, bins=bins)
    keep = (frequencies >= low) & (frequencies <= high) & (power > 0)
    if keep.sum() < 2:
        return 0.0
    return float(np.polyfit(np.log(frequencies[keep]), np.log(power[keep]), 1)[0])


def grid_peak_ratio(image: np.ndarray, period: int) -> float:
    """How strongly ``image`` repeats every ``period`` pixels: a checkerboard/grid artefact detector.

    A pattern that repeats every p pixels puts all its energy at the frequencies (k/p, l/p) cycles per
    pixel. This returns the mean power at those grid frequencies (except 0) divided by the mean power
    at their immediate neighbours in the spectrum: about 1 for an image with no grid, much more than 1
    for a stride-p artefact. The image is cropped to a multiple of ``period`` first, so the grid
    frequencies fall exactly on FFT bins.
    """
    gray = grayscale(image)
    if period < 2 or min(gray.shape) < 2 * period:
        raise ValueError(f"period must be >= 2 and at most half the image size, got {period}.")
    height, width = (gray.shape[0] // period) * period, (gray.shape[1] // period) * period
    power = np.fft.ifftshift(power_spectrum(gray[:height, :width]))  # frequency 0 at index (0, 0)
    rows = np.arange(0, height, height // period)  # bin index of frequency k / period
    cols = np.arange(0, width, width // period)
    on_grid = np.zeros_like(power, dtype=bool)
    on_grid[np.ix_(rows, cols)] = True
    on_grid[0, 0] = False
    beside = np.zeros_like(on_grid)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        beside |= np.roll(on_grid, (dy, dx), axis=(0, 1))
    beside &= ~on_grid
    beside[0, 0] = False
    neighbours = power[beside].mean()
    return float(power[on_grid].mean() / neighbours) if neighbours > 0 else float("inf")


def linf(change: np.ndarray) -> float:
    """Largest absolute change of any pixel value (the L-infinity norm), e.g. of dream minus original."""
    return float(np.max(np.abs(np.asarray(change, dtype=np.float64))))


def activation_memory(backbone: Backbone, layer: str, height: int, width: int, batch: int = 1) -> int:
    """Bytes of the feature maps a dream step at ``layer`` must hold for an image of this size (float32).

    The sum, over every feature-map layer from the input up to and including ``layer`` (in network
    order), of ``batch x h x w x channels x 4`` bytes: the activations the backward pass keeps. Shapes come
    from Keras's shape inference, so nothing is computed and any size can be asked about. It is an
    estimate from below: TensorFlow also keeps pre-activations and gradient buffers, so a real step uses a
    few times more (``benchmarks/README.md`` measured about 2.5x at 512-1024 px for ``block4_conv3``).
    For a tiled step, pass the tile's size: only one tile's activations are alive at a time.
    """
    layer = backbone.check_layer(layer)
    names = list(backbone.layer_names)
    names = names[: names.index(layer) + 1]
    if names and backbone.model.get_layer(names[0]).__class__.__name__ == "InputLayer":
        names = names[1:]
    shapes = backbone.extractor(names).compute_output_shape((batch, height, width, 3))
    values = batch * height * width * 3 + sum(int(np.prod(shape)) for shape in shapes.values())
    return 4 * values


def tile_border_distance(height: int, width: int, tile_size: int) -> np.ndarray:
    """Distance in pixels from each pixel to the nearest border *between* two tiles (inf if one tile).

    Uses the same tiles as a tiled dream (:func:`deepdream_lib.engine.tile_starts`), so it says where
    a tiled gradient can differ from the whole-image one: near these borders a tile cannot see its
    neighbour. Shape (height, width).
    """
    from deepdream_lib.engine import tile_starts

    def to_border(length: int) -> np.ndarray:
        starts = tile_starts(tf.constant(length), tile_size)[0].numpy()[1:]
        centres = np.arange(length) + 0.5
        if starts.size == 0:
            return np.full(length, np.inf)
        return np.min(np.abs(centres[:, None] - starts[None, :]), axis=1)

    return np.minimum(to_border(height)[:, None], to_border(width)[None, :])


def energy_footprint(change: np.ndarray, fraction: float = 0.9, centre: tuple[int, int] | None = None) -> int:
    """Side in pixels of the smallest square around ``centre`` that holds ``fraction`` of the change's energy.

    ``change`` is e.g. a dream minus its original, (H, W) or (H, W, 3); energy is the squared change
    summed over colours; ``centre`` (row, col) defaults to the image centre. A dream of one neuron
    changes only the pixels that neuron sees, so its footprint is at most the receptive field.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    energy = np.asarray(change, dtype=np.float64) ** 2
    energy = energy.sum(axis=-1) if energy.ndim == 3 else energy
    total = energy.sum()
    if total == 0:
        return 0
    height, width = energy.shape
    row, col = centre or (height // 2, width // 2)
    rows, cols = np.abs(np.arange(height) - row), np.abs(np.arange(width) - col)
    distance = np.maximum(rows[:, None], cols[None, :])  # Chebyshev: squares around the centre
    inside = np.bincount(distance.ravel(), weights=energy.ravel()).cumsum() / total
    radius = int(np.searchsorted(inside, fraction - 1e-12))
    return 2 * radius + 1


def detail_kept(original: np.ndarray, image: np.ndarray, sigma: float = 1.0) -> float:
    """How much of the original's finest detail survives in ``image`` (Pearson correlation, -1 to 1).

    The fine detail of a picture is its grayscale minus a Gaussian blur of width ``sigma`` px (its
    sharpest edges and textures). 1 means ``image`` has exactly that detail; near 0 it was lost, e.g.
    by shrinking and enlarging the picture (the "resize" octave mode), or drowned by dreamed patterns.
    """
    from skimage.filters import gaussian

    def fine(picture: np.ndarray) -> np.ndarray:
        gray = grayscale(picture)
        return gray - gaussian(gray, sigma=sigma, preserve_range=True)

    a, b = fine(original).ravel(), fine(image).ravel()
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def dream_stats(backbone: Backbone, objective, original: np.ndarray, result) -> dict[str, float]:
    """The ablation lab's measurements of one dream (a :class:`~deepdream_lib.engine.DreamResult`).

    - ``gain``: objective of the dream / objective of the original - 1, both at full size and with the
      dream clipped to [0, 1] as it would be saved (``relative_gain(history)`` cannot compare dreams
      with octaves: their first value is measured on the smallest octave). Mean over a batch.
    - ``high_freq``: share of the change's spectral energy above 0.25 cycles/pixel (finest patterns);
      ``low_freq``: share below 1/16 cycles/pixel (patterns larger than about 16 px).
    - ``mean_change``: mean absolute change of a pixel value; ``detail_kept``: see :func:`detail_kept`.
    - ``seconds_per_step``: the dream's wall time divided by its number of steps (includes tracing on a
      first call); ``min`` and ``max``: the dream's pixel range (outside [0, 1] only without clipping).
    """
    original = np.asarray(original, dtype=np.float32)
    image = np.asarray(result.image, dtype=np.float32)
    from deepdream_lib.engine import objective_values

    before = objective_values(backbone, objective, original)
    after = objective_values(backbone, objective, np.clip(image, 0.0, 1.0))
    gain = float(np.mean((after - before) / np.maximum(np.abs(before), 1e-12)))
    images = image.reshape(-1, *image.shape[-3:])
    originals = np.broadcast_to(original, image.shape).reshape(-1, *image.shape[-3:])
    changes = images - originals
    return {
        "gain": gain,
        "high_freq": float(np.mean([high_frequency_fraction(change) for change in changes])),
        "low_freq": float(np.mean([1.0 - high_frequency_fraction(change, 1 / 16) for change in changes])),
        "mean_change": float(np.abs(changes).mean()),
        "detail_kept": float(np.mean([detail_kept(o, i) for o, i in zip(originals, images, strict=True)])),
        "seconds_per_step": result.seconds / max(len(result.history), 1),
        "min": float(image.min()),
        "max": float(image.max()),
    }
