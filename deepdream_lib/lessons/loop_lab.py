"""The ablation lab of lesson 03: switch the tricks of the DeepDream loop on one at a time, and measure.

:func:`ablate` dreams the same image once per variant of a base :class:`~deepdream_lib.engine.DreamConfig`
and measures each dream (objective gain, spectral make-up of the change, time per step without the
one-off tracing). :func:`tiling_error` compares a tiled gradient with the whole-image one, pixel by
pixel, against the distance to the nearest tile border; :func:`memory_by_size` computes (never runs)
how much activation memory a step needs with and without tiles. :func:`repeating_cell` isolates the part
of a change that repeats every few pixels (a stride's grid), so that a faint grid can be seen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from deepdream_lib.engine import (
    DreamConfig,
    DreamResult,
    dream,
    objective_and_gradient,
    tiled_objective_and_gradient,
)
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.images import resize_max
from deepdream_lib.measure import activation_memory, dream_stats, tile_border_distance
from deepdream_lib.models import Backbone
from deepdream_lib.objectives import Objective, as_objective

CONFIG_FIELDS = {f.name for f in dataclasses.fields(DreamConfig)}


@dataclass
class Trial:
    """One dream of an ablation: its settings, the result and the lab's measurements."""

    config: DreamConfig
    result: DreamResult
    stats: dict[str, float]  # see measure.dream_stats; seconds_per_step excludes tracing here


def ablate(
    image: np.ndarray,
    objective: Objective | str,
    backbone: Backbone,
    base: DreamConfig,
    variants: Mapping[str, Mapping[str, object]],
    warm_up: bool = True,
) -> dict[str, Trial]:
    """Dream ``image`` once per variant: ``base`` with the variant's settings changed, everything else equal.

    A variant is a dict of :func:`~deepdream_lib.engine.dream` keyword arguments: any field of
    :class:`DreamConfig` (``{"jitter": 32}``), and also ``post_step`` or ``transform``. With ``warm_up``,
    one tiny step of each variant runs first, so the measured ``seconds_per_step`` is the step itself
    and not the one-off tracing of a new compiled step.
    """
    objective = as_objective(objective).validate(backbone)
    trials = {}
    for name, settings in variants.items():
        settings = dict(settings)
        config = dataclasses.replace(base, **{k: v for k, v in settings.items() if k in CONFIG_FIELDS})
        extra = {k: v for k, v in settings.items() if k not in CONFIG_FIELDS}
        if warm_up:
            dream(resize_max(image, 64), objective, backbone, config, num_steps=1, num_octaves=1,
                  progress=False, **extra)
        result = dream(image, objective, backbone, config, progress=False, **extra)
        trials[name] = Trial(config, result, dream_stats(backbone, objective, image, result))
    return trials


def trial_table(trials: Mapping[str, Trial], columns: Sequence[str] = ("gain", "high_freq", "low_freq",
                "mean_change", "detail_kept", "seconds_per_step")) -> str:
    """The measurements of an ablation as a text table, one row per variant."""
    width = max(len(name) for name in trials) + 2
    lines = [f"{'variant':{width}s}" + "".join(f"{column:>18s}" for column in columns)]
    for name, trial in trials.items():
        lines.append(f"{name:{width}s}" + "".join(f"{trial.stats[column]:18.4g}" for column in columns))
    return "\n".join(lines)


def tiling_error(
    backbone: Backbone, objective: Objective | str, image: np.ndarray, tile_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """How far a tiled gradient is from the whole-image one, and how far each pixel is from a tile border.

    Returns ``(error, distance)``, both (H, W): ``error`` is the largest absolute difference over the
    colour channels, divided by the largest absolute value of the whole-image gradient (so 0.01 means
    1 % of the gradient's peak); ``distance`` is :func:`~deepdream_lib.measure.tile_border_distance`.
    """
    objective = as_objective(objective).validate(backbone)
    images = tf.constant(np.asarray(image, dtype=np.float32)[None])
    _, whole = objective_and_gradient(backbone, objective, images)
    _, tiled = tiled_objective_and_gradient(backbone, objective, images, tile_size)
    whole, tiled = whole.numpy()[0], tiled.numpy()[0]
    error = np.abs(tiled - whole).max(axis=-1) / max(float(np.abs(whole).max()), 1e-30)
    return error, tile_border_distance(image.shape[0], image.shape[1], tile_size)


def memory_by_size(
    backbone: Backbone, layer: str, sizes: Sequence[int], tile_size: int
) -> dict[int, tuple[int, int]]:
    """Activation memory of a step at ``layer`` for square images of each size: ``{size: (untiled, tiled)}``.

    Bytes, from :func:`~deepdream_lib.measure.activation_memory` (shapes only: nothing runs, so any size
    can be asked about). A tiled step holds one tile's activations at a time, so its memory stops
    growing once the image is larger than a tile.
    """
    return {
        size: (activation_memory(backbone, layer, size, size),
               activation_memory(backbone, layer, min(size, tile_size), min(size, tile_size)))
        for size in sizes
    }


def repeating_cell(change: np.ndarray, period: int) -> np.ndarray:
    """The average ``period`` x ``period`` cell of ``change`` (H, W, C), its overall mean removed.

    Averaging over every cell keeps what repeats every ``period`` pixels (a stride's grid) and cancels
    what does not: the spatial counterpart of :func:`~deepdream_lib.measure.grid_peak_ratio`. A grid far
    too faint to see in a dream shows up in its average cell; a change without one averages to about 0.
    """
    change = np.asarray(change, dtype=np.float64)
    if change.ndim != 3 or period < 2 or min(change.shape[:2]) < 2 * period:
        raise DeepDreamError(f"repeating_cell needs an (H, W, C) change at least twice the period {period} "
                             f"across; got shape {change.shape}")
    height, width = change.shape[0] // period * period, change.shape[1] // period * period
    cells = change[:height, :width].reshape(height // period, period, width // period, period, -1)
    cell = cells.mean(axis=(0, 2))
    return cell - cell.mean(axis=(0, 1))
