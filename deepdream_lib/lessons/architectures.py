"""Comparing architectures: load what can be loaded, describe a network's structure, and the arithmetic
of receptive fields, strides and depthwise-separable convolutions (lesson 06).

* :func:`try_load` loads a backbone or explains why it cannot (ImageNet weights need internet) and
  returns ``None``, so a lesson can skip a model in one line instead of copying try/except blocks.
* :func:`structure` counts what a network is made of: plain and depthwise convolutions, skip
  connections (``Add``), branch merges (``Concatenate``), batch norms, strided layers.
* :func:`layer_at_depth` picks a suggested dream layer at a fraction of a network's depth, so networks
  of different lengths can be compared "at the same depth".
* Receptive fields by formula live in the core, shared with lesson 04:
  :func:`deepdream_lib.measure.chain_of` and :func:`deepdream_lib.measure.receptive_field_by_formula`.
* :func:`conv_cost` counts the weights and multiply-accumulates of a convolution, plain or depthwise
  separable (MobileNet's trick, Howard et al. 2017).
* :func:`coverage_map` shows where checkerboards come from: how many windows of a strided convolution
  cover each input pixel (Odena et al., *Deconvolution and Checkerboard Artifacts*, Distill 2016).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from deepdream_lib.errors import DeepDreamError, WeightsUnavailableError
from deepdream_lib.lessons.loop_lab import repeating_cell
from deepdream_lib.measure import grid_peak_ratio
from deepdream_lib.mode import imagenet_reachable
from deepdream_lib.models import Backbone, get_spec, load_model, local_weights


def try_load(name: str, **kwargs) -> Backbone | None:
    """Load a backbone, or print why it cannot be loaded here and return ``None``.

    Offline, the ImageNet models of ``keras.applications`` cannot download their weights: they are
    skipped with a message (they run on Colab), without building the network first. Any other error (a
    wrong name, say) still raises.
    """
    spec = get_spec(name)
    local = kwargs.get("weights_path") or local_weights(name)
    if not spec.offline and local is None and not imagenet_reachable():
        print(
            f"Skipped {name}: its ImageNet weights are downloaded from the internet on first use, and "
            "there is no connection here. On Colab this cell runs it."
        )
        return None
    try:
        return load_model(name, **kwargs)
    except WeightsUnavailableError as error:
        reason = str(error).split(" (")[0]
        print(
            f"Skipped {name}: {reason}. Its ImageNet weights are downloaded on first use, which needs "
            "internet (on Colab this cell runs it)."
        )
        return None


@dataclass(frozen=True)
class Structure:
    """What a network is made of (counted over its Keras layers)."""

    name: str
    parameters: int
    layers: int
    convolutions: int  # plain Conv2D
    depthwise: int  # DepthwiseConv2D (one filter per channel)
    skips: int  # Add layers: residual / skip connections
    merges: int  # Concatenate layers: where parallel branches meet (Inception)
    batch_norms: int
    strided: int  # layers that downsample (stride > 1: convolutions and pooling)


def structure(backbone: Backbone) -> Structure:
    """Count the building blocks of ``backbone``'s network (see :class:`Structure`)."""
    kinds = Counter(type(layer).__name__ for layer in backbone.model.layers)
    strided = 0
    for layer in backbone.model.layers:
        strides = getattr(layer, "strides", None)
        if strides is not None and max(np.atleast_1d(strides)) > 1:
            strided += 1
    return Structure(
        name=backbone.name,
        parameters=int(backbone.model.count_params()),
        layers=len(backbone.model.layers),
        convolutions=kinds["Conv2D"],
        depthwise=kinds["DepthwiseConv2D"],
        skips=kinds["Add"],
        merges=kinds["Concatenate"],
        batch_norms=kinds["BatchNormalization"],
        strided=strided,
    )


def layer_at_depth(backbone: Backbone, fraction: float) -> str:
    """The suggested dream layer nearest ``fraction`` of the way through the network (0 first, 1 last)."""
    if not 0.0 <= fraction <= 1.0:
        raise DeepDreamError(f"fraction must be between 0 and 1, got {fraction!r}.")
    layers = backbone.spec.layers
    return layers[round(fraction * (len(layers) - 1))]


def architecture_family(name: str) -> str:
    """A one-line description of the architecture behind a registry name (no weights are loaded)."""
    spec = get_spec(name)
    return spec.description


# --- costs of convolutions -------------------------------------------------------------------------------


def conv_cost(
    kernel_size: int,
    in_channels: int,
    out_channels: int,
    out_height: int,
    out_width: int,
    separable: bool = False,
) -> tuple[int, int]:
    """``(weights, multiply-accumulates)`` of one convolution layer (biases left out).

    Plain: ``k*k*C_in*C_out`` weights, each used once per output position. Depthwise separable: a ``k x k``
    filter per input channel (``k*k*C_in``) then a 1x1 convolution that mixes channels (``C_in*C_out``);
    the ratio to a plain convolution is ``1/C_out + 1/k^2``, about 8-9 times fewer for 3x3 kernels.
    """
    if separable:
        weights = kernel_size * kernel_size * in_channels + in_channels * out_channels
    else:
        weights = kernel_size * kernel_size * in_channels * out_channels
    return weights, weights * out_height * out_width


# --- where checkerboards come from ------------------------------------------------------------------------


def coverage_map(kernel_size: int, stride: int, size: int = 16) -> np.ndarray:
    """How many windows of a ``kernel_size``-square, stride-``stride`` convolution cover each pixel.

    It is the gradient of the sum of the outputs of that convolution with an all-ones kernel: the
    pattern every gradient through a strided layer is multiplied by. When the kernel size is not a
    multiple of the stride, neighbouring pixels are covered unevenly, a period-``stride`` grid: the
    seed of a checkerboard. (Padding 'valid'; the border rows are cropped off.)

    Counted directly, not taken from ``tf.GradientTape``: a row is covered by the windows that start at
    ``0, stride, 2 * stride, ...``, and a pixel by (windows over its row) x (windows over its column).
    An eager tape also computes the kernel's gradient, and with oneDNN on (Intel CPUs, Colab) that op
    crashes the process when the kernel is smaller than the stride (1x1, stride 2). The tests check that
    this count equals the convolution's gradient.
    """
    if min(kernel_size, stride) < 1 or size <= 2 * kernel_size:
        raise DeepDreamError(
            f"coverage_map needs kernel_size, stride >= 1 and size > 2 * kernel_size; got "
            f"kernel_size={kernel_size}, stride={stride}, size={size}."
        )
    line = np.zeros(size, dtype=np.float32)
    for start in range(0, size - kernel_size + 1, stride):
        line[start : start + kernel_size] += 1
    margin = kernel_size
    return np.outer(line, line)[margin : size - margin, margin : size - margin]


# --- the stride grid a dream inherits -------------------------------------------------------------------


def grid_share(change: np.ndarray, period: int) -> float:
    """Share of the change's energy (its mean removed) in the part that repeats every ``period`` pixels.

    That part is :func:`~deepdream_lib.lessons.loop_lab.repeating_cell` tiled over the image (cropped to
    whole cells): 0 = no grid, 1 = nothing but grid. For noise without a grid the share is about one over
    the number of cells.
    """
    values = np.asarray(change, dtype=np.float64)
    cell = repeating_cell(values, period)
    rows, cols = values.shape[0] // period * period, values.shape[1] // period * period
    values = values[:rows, :cols] - values[:rows, :cols].mean(axis=(0, 1))
    total = float(np.sum(values**2))
    return float(np.sum(cell**2)) * (rows // period) * (cols // period) / total if total > 0 else 0.0


def show_stride_patterns(changes: dict[str, np.ndarray], period: int = 2, repeats: int = 6,
                         size: float = 2.4, peak_ratio: bool = False):
    """Each change's :func:`~deepdream_lib.lessons.loop_lab.repeating_cell`, tiled ``repeats`` times each
    way, on one shared colour scale.

    Mid-grey is no grid; the brighter and darker the cells, the stronger the grid relative to the
    strongest one shown, so an even architecture reads grey beside a checkerboard. Titles give the
    :func:`grid_share`; with ``peak_ratio``, first the
    :func:`~deepdream_lib.measure.grid_peak_ratio` (grey image, grid power over the power beside it).
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    cells = {name: repeating_cell(change, period) for name, change in changes.items()}
    scale = max(float(np.abs(cell).max()) for cell in cells.values()) or 1.0
    figure, axes = plt.subplots(1, len(cells), figsize=(size * len(cells), size + 0.5), squeeze=False)
    for axis, (name, cell) in zip(axes[0], cells.items(), strict=True):
        tiled = np.tile(cell, (repeats, repeats, 1))
        axis.imshow(np.clip(0.5 + 0.5 * tiled / scale, 0, 1), interpolation="nearest")
        share = f"grid: {grid_share(changes[name], period):.1%} of the change"
        if peak_ratio:
            share = f"peak ratio {grid_peak_ratio(changes[name], period):.1f}\n{share}"
        axis.set_title(f"{name}\n{share}", fontsize=9)
        axis.axis("off")
    figure.suptitle(f"the part of each change that repeats every {period} px, tiled {repeats} x {repeats}",
                    fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.86 if peak_ratio else 0.9))
    return figure
