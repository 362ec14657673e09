"""Objectives: what a dream maximises, as a small algebra.

An objective maps a dict of activations ``{layer name: (B, h, w, C) tensor}`` to one number per image,
shape ``(B,)``. Objectives are always **maximised** (gradient ascent). They combine like numbers::

    layer("block4_conv3") + 0.5 * channel("block5_conv2", 7) - 0.1 * total_variation()

and print as what they mean. The key ``"input"`` holds the image itself (RGB in [0, 1]), so penalties
on pixels (see :mod:`deepdream_lib.regularizers`) are objectives too. ``"logits"`` holds class scores.

The idea follows Lucid's ``objectives.py`` (Olah et al., *Feature Visualization*, Distill 2017).
"""

from __future__ import annotations

import numbers
import weakref
from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf

from deepdream_lib.errors import DeepDreamError, ObjectiveError
from deepdream_lib.measure import similarity_to_others

INPUT = "input"  #: the activations key that holds the image being dreamed, RGB in [0, 1]
Activations = dict[str, tf.Tensor]


class Objective:
    """A function from activations to one value per image, which dreaming maximises.

    ``description`` is what it prints as; ``key`` identifies what it computes (the same as the
    description unless two objectives could print alike, like guides from different images), so
    the dream engine can reuse a compiled step for an equal objective. ``batch_terms`` names the parts
    that compare the images of a batch with each other (:func:`diversity`): such an objective needs
    the whole batch at once, so the engine refuses to compute it tile by tile.
    """

    __array_ufunc__ = None  # `array * objective` raises TypeError instead of making an array of objectives

    def __init__(
        self,
        fn: Callable[[Activations], tf.Tensor],
        layers: Iterable[str],
        description: str,
        channels: Iterable[tuple[str, int]] = (),
        key: str | None = None,
        batch_terms: Iterable[str] = (),
    ):
        self.fn = fn
        self.layers = frozenset(layers)
        self.description = description
        self.channels = tuple(channels)  # (layer, index) pairs to check against the network
        self.key = description if key is None else key
        self.batch_terms = tuple(batch_terms)  # descriptions of the terms that compare images

    def __call__(self, activations: Activations) -> tf.Tensor:
        return self.fn(activations)

    def __repr__(self) -> str:
        return self.description

    def _combine(self, other: Objective, sign: float, symbol: str) -> Objective:
        return Objective(
            lambda acts: self(acts) + sign * other(acts),
            self.layers | other.layers,
            f"{self} {symbol} {other._wrapped() if symbol == '-' else other}",
            self.channels + other.channels,
            f"({self.key}) {symbol} ({other.key})",
            self.batch_terms + other.batch_terms,
        )

    def __add__(self, other: Objective | float) -> Objective:
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            return self if other == 0 else self._combine(constant(float(other)), 1.0, "+")
        if not isinstance(other, Objective):
            return NotImplemented
        return self._combine(other, 1.0, "+")

    def __radd__(self, other: float) -> Objective:  # lets sum([...]) start from 0
        return self.__add__(other)

    def __sub__(self, other: Objective | float) -> Objective:
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            return self if other == 0 else self._combine(constant(float(other)), -1.0, "-")
        if not isinstance(other, Objective):
            return NotImplemented
        return self._combine(other, -1.0, "-")

    def __neg__(self) -> Objective:
        return -1.0 * self

    def __mul__(self, scale: float) -> Objective:
        if not isinstance(scale, numbers.Number) or isinstance(scale, bool):
            raise TypeError(
                f"An objective can only be multiplied by a number, not by {type(scale).__name__}."
            )
        scale = float(scale)
        text = f"-{self._wrapped()}" if scale == -1.0 else f"{scale:g} * {self._wrapped()}"
        return Objective(lambda acts: scale * self(acts), self.layers, text, self.channels,
                         f"{scale!r} * ({self.key})", self.batch_terms)

    __rmul__ = __mul__

    def __truediv__(self, scale: float) -> Objective:
        if not isinstance(scale, numbers.Number) or isinstance(scale, bool) or scale == 0:
            raise TypeError("An objective can only be divided by a non-zero number.")
        return self * (1.0 / float(scale))

    def _wrapped(self) -> str:
        return f"({self})" if (" + " in self.description or " - " in self.description) else str(self)

    @property
    def network_layers(self) -> frozenset[str]:
        """The layers this objective needs from the network (without the image itself)."""
        return self.layers - {INPUT}

    def validate(self, backbone) -> Objective:
        """Check layer names and channel indices against a backbone; raise a clear error if wrong.

        Then a trial run (:func:`_trial_run`) names an undeclared layer or a missing gradient before
        any step is built.
        """
        for name in self.network_layers:
            backbone.check_layer(name)
        for name, index in self.channels:
            depth = int(backbone.model.get_layer(name).output.shape[-1])
            if not 0 <= index < depth:
                raise DeepDreamError(
                    f"Channel {index} is out of range: {name} has {depth} channels (0..{depth - 1})."
                )
        _trial_run(self, backbone)
        return self


class _DeclaredOnly(dict):
    """The activations an objective declared; reading any other layer raises :class:`ObjectiveError`."""

    def __init__(self, activations: Activations, objective: Objective):
        super().__init__(activations)
        self.objective = objective

    def __missing__(self, name: str) -> tf.Tensor:
        declared = ", ".join(sorted(self.objective.network_layers)) or "none"
        raise ObjectiveError(
            f"The objective {self.objective} reads layer {name!r}, which it did not declare (declared: "
            f"{declared}). Name every layer it reads: Objective(fn, layers=[...], description)."
        )


def _activation_spec(backbone, name: str) -> tf.TensorSpec:
    """The shape of ``backbone``'s activation ``name`` for a batch of images of any size."""
    if name == INPUT:
        shape = (None, None, None, 3)
    elif name == "logits" and backbone.fixed_head is not None:
        shape = tuple(backbone.fixed_head.output.shape)
    else:
        shape = tuple(backbone.model.get_layer(name).output.shape)
    return tf.TensorSpec((None, *shape[1:]), tf.float32)


_TRIED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # backbone -> keys that passed the trial


def _trial_run(objective: Objective, backbone) -> None:
    """Trace ``objective`` alone on symbolic activations (nothing is computed, no network runs).

    It raises :class:`ObjectiveError` for the two mistakes that would otherwise surface deep inside
    the traced dream step as a long traceback: reading a layer the objective did not declare, and a
    value with no gradient (built on ``tf.stop_gradient``, a constant or an integer operation). Any
    other failure of the trial is left for the real evaluation to report in its own words. A key that
    passed once for a backbone is not tried again (the step cache, too, treats equal keys as one).
    """
    tried = _TRIED.setdefault(backbone, set())
    if objective.key in tried:
        return

    def trial(activations: Activations) -> tf.Tensor:
        value = tf.cast(objective(_DeclaredOnly(activations, objective)), tf.float32)
        if all(grad is None for grad in tf.gradients(tf.reduce_sum(value), list(activations.values()))):
            layers = ", ".join(sorted(objective.layers)) or "none"
            raise ObjectiveError(
                f"The objective {objective} has no gradient: its value does not depend on what it reads "
                f"({layers}) through differentiable operations, so the pixels cannot climb it. Was it built "
                "on tf.stop_gradient, a constant or an integer operation such as argmax?"
            )
        return value

    try:
        specs = {name: _activation_spec(backbone, name) for name in objective.layers | {INPUT}}
        tf.function(trial).get_concrete_function(specs)
    except ObjectiveError:
        raise
    except Exception:  # any other mistake is reported by the real evaluation, in its own words
        return
    tried.add(objective.key)


def _spatial_mean(tensor: tf.Tensor) -> tf.Tensor:
    """Mean over every axis but the batch axis: (B, ...) -> (B,)."""
    return tf.reduce_mean(tensor, axis=tf.range(1, tf.rank(tensor)))


def _only_batch(values: tf.Tensor, batch: int | None) -> tf.Tensor:
    """Keep the value of one image of the batch (for batched dreams); zero for the others."""
    if batch is None:
        return values
    return values * tf.one_hot(batch, tf.shape(values)[0], dtype=values.dtype)


def _suffix(batch: int | None) -> str:
    return "" if batch is None else f", batch={batch}"


def constant(value: float) -> Objective:
    """A constant (it has no gradient; it only shifts the reported value)."""
    return Objective(lambda acts: tf.fill(tf.shape(acts[INPUT])[:1], value), [INPUT], f"{value:g}")


def layer(name: str, batch: int | None = None) -> Objective:
    """Mean activation of a whole layer: the classic DeepDream objective (Mordvintsev et al. 2015)."""
    return Objective(
        lambda acts: _only_batch(_spatial_mean(acts[name]), batch), [name], f'layer("{name}"{_suffix(batch)})'
    )


def layer_l2(name: str, batch: int | None = None) -> Objective:
    """Mean squared activation of a layer: the original Caffe notebook's ``objective_L2``."""
    return Objective(
        lambda acts: _only_batch(_spatial_mean(tf.square(acts[name])), batch),
        [name],
        f'layer_l2("{name}"{_suffix(batch)})',
    )


def channel(name: str, index: int, batch: int | None = None) -> Objective:
    """Mean activation of one channel (one feature detector, everywhere in the image)."""
    _check_index(index)
    return Objective(
        lambda acts: _only_batch(_spatial_mean(acts[name][..., index]), batch),
        [name],
        f'channel("{name}", {index}{_suffix(batch)})',
        [(name, index)],
    )


def neuron(
    name: str, index: int, x: int | None = None, y: int | None = None, batch: int | None = None
) -> Objective:
    """Activation of one channel at one position of the feature map (the centre unless x, y are given)."""
    _check_index(index)

    def fn(acts: Activations) -> tf.Tensor:
        feature_map = acts[name]
        row = tf.shape(feature_map)[1] // 2 if y is None else y
        col = tf.shape(feature_map)[2] // 2 if x is None else x
        return _only_batch(feature_map[:, row, col, index], batch)

    where = "centre" if x is None and y is None else f"x={x}, y={y}"
    return Objective(fn, [name], f'neuron("{name}", {index}, {where}{_suffix(batch)})', [(name, index)])


def class_logit(index: int, batch: int | None = None) -> Objective:
    """The score of one class before the softmax (Simonyan et al. 2013; needs a classifier)."""
    _check_index(index)
    return Objective(
        lambda acts: _only_batch(acts["logits"][:, index], batch),
        ["logits"],
        f"class_logit({index}{_suffix(batch)})",
        [],
    )


def guide(name: str, guide_activations: tf.Tensor | np.ndarray) -> Objective:
    """Dream towards what a guide image excites (the original Caffe notebook's ``objective_guide``).

    ``guide_activations`` is the guide image's activation at ``name``, shape (1, h, w, C) or (h, w, C).
    Each position of the dreamed image is scored by its best match among the guide's feature vectors:
    ``mean_i max_j <x_i, g_j>``; its gradient at position i is the best-matching guide vector.
    """
    features = tf.reshape(
        tf.convert_to_tensor(guide_activations, tf.float32), (-1, tf.shape(guide_activations)[-1])
    )

    def fn(acts: Activations) -> tf.Tensor:
        x = acts[name]
        flat = tf.reshape(x, (tf.shape(x)[0], -1, tf.shape(x)[-1]))  # (B, N, C)
        scores = tf.einsum("bnc,mc->bnm", flat, features)
        return tf.reduce_mean(tf.reduce_max(scores, axis=-1), axis=-1)

    description = f'guide("{name}", {int(features.shape[0])} guide vectors)'
    return Objective(fn, [name], description, key=f"{description}#{id(features)}")


def batched(objectives: Iterable[Objective]) -> Objective:
    """A batch of independent dreams: image ``i`` of the batch maximises ``objectives[i]``.

    Each item must be built with ``batch=i`` (e.g. ``channel(layer, c, batch=i)``); this sums them.
    """
    return sum(objectives, 0.0)


def channels(name: str, indices: Iterable[int]) -> Objective:
    """One channel per image of a batch: ``channels("block4_conv3", range(64))`` dreams an atlas at once.

    Image ``i`` gets the mean of channel ``indices[i]`` (images beyond the list get 0). The same values
    as ``batched(channel(name, c, batch=i) ...)``, computed with one gather instead of one slice per
    channel: tracing 16 channels took 1.6 s instead of 9.9 s (lesson 04, ``benchmarks/bench_atlas.py``).
    """
    indices = [int(c) for c in indices]
    for c in indices:
        _check_index(c)
    chosen = tf.constant(indices, tf.int32)

    def fn(acts: Activations) -> tf.Tensor:
        means = tf.reduce_mean(acts[name], axis=[1, 2])  # (B, C)
        picked = tf.gather(means, chosen, axis=1)  # (B, n): every listed channel for every image
        own = tf.one_hot(tf.range(tf.shape(means)[0]), len(indices), dtype=means.dtype)  # image i: column i
        return tf.reduce_sum(picked * own, axis=1)

    return Objective(fn, [name], f'channels("{name}", {indices})', [(name, c) for c in indices])


def diversity(name: str) -> Objective:
    """Diversity (Olah, Mordvintsev & Schubert, *Feature Visualization*, Distill 2017): batch styles apart.

    For a batch of N images, image ``i`` scores minus its mean cosine similarity to the other images'
    Gram (style) matrices at layer ``name`` (:func:`~deepdream_lib.measure.similarity_to_others`), so
    the batch mean is minus the mean pairwise similarity (:func:`~deepdream_lib.measure.gram_similarity`)
    and maximising it pushes the images' styles apart. Add it to a per-image objective with a weight::

        channel("block4_conv3", 7) + 0.5 * diversity("block3_conv3")

    Lucid's term is the similarity itself (summed over pairs, divided by N), entered with a minus sign;
    here objectives are maximised, so the sign is inside. How it composes: the engine climbs the
    *sum* of the values over the batch, which for this term is N times minus the mean similarity,
    and each image's gradient holds its pairs with every other image; the reported history is the batch
    mean. It is a **batch-level** term: it needs the whole batch at once, so a tiled dream
    (``tile_size``) refuses it, and :func:`~deepdream_lib.engine.dream` refuses a batch of one. Called
    on a batch of one, it is 0 (nothing to compare), with no gradient. Identical images never
    diverge under it (their similarity is at its maximum, where the gradient is zero): start them
    from different images.
    """
    description = f'diversity("{name}")'
    return Objective(lambda acts: -similarity_to_others(acts[name]), [name], description,
                     batch_terms=[description])


def as_objective(spec: Objective | str) -> Objective:
    """Accept an objective or a layer name (``"block4_conv3"`` means ``layer("block4_conv3")``)."""
    if isinstance(spec, Objective):
        return spec
    if isinstance(spec, str):
        return layer(spec)
    raise TypeError(f"Expected an Objective or a layer name, got {type(spec).__name__}.")


def _check_index(index: int) -> None:
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool) or index < 0:
        raise DeepDreamError(f"A channel or class index must be a non-negative integer, got {index!r}.")
