"""The DeepDream engine: gradient *ascent* on the pixels of an image.

Training changes the weights to lower a loss; dreaming freezes the weights and changes the image to
raise an objective. One step is::

    shift = random jitter;  x = roll(image, shift)
    g = d objective(x) / d x            (tile by tile for big images)
    g = normalise(roll(g, -shift))
    image = clip(image + step_size * g, 0, 1)

and :func:`dream` repeats it over octaves (the same image at growing sizes). Two levels of API:
:func:`dream` for one call, :func:`make_step` for lessons that open the loop up.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from deepdream_lib import __version__
from deepdream_lib.errors import DeepDreamError, ImageError, ObjectiveError
from deepdream_lib.images import ImageLike, load_image, save_image
from deepdream_lib.models import Backbone, as_backbone
from deepdream_lib.normalize import METHODS, normalize_gradient
from deepdream_lib.objectives import INPUT, Objective, as_objective

MAX_UNTILED_PIXELS = 1_500_000  # beyond this, an untiled step of VGG16 needs several GB: tile instead
MIN_OCTAVE_SIZE = 16
OCTAVE_MODES = ("detail", "resize")


@dataclass(frozen=True)
class DreamConfig:
    """Every knob of a dream, in one place (the names the lessons use).

    Attributes:
        num_steps: gradient-ascent steps per octave.
        step_size: how far each step moves the pixels (image in [0, 1]); with a normalised gradient
            this is roughly the change per pixel per step. Above ~0.006 deep layers saturate.
        num_octaves: how many image sizes to dream at, smallest first (1 = no octaves).
        octave_scale: size ratio between octaves (> 1).
        octave_mode: ``"detail"`` adds the dreamed detail back onto a sharp copy of the original at each
            size (Caffe notebook, Keras example); ``"resize"`` upsizes the dreamed image (TF tutorial).
        jitter: largest random shift in pixels before each step (0 = off); undone after the step.
        normalize: gradient normalisation, one of ``"std"``, ``"mean_abs"``, ``"laplacian"``, ``"none"``.
        tile_size: compute the gradient in tiles of about this size (None = whole image).
        clip: keep pixels in [0, 1] after each step.
        seed: seed of the jitter, for reproducible dreams.
    """

    num_steps: int = 20
    step_size: float = 0.005
    num_octaves: int = 3
    octave_scale: float = 1.4
    octave_mode: str = "detail"
    jitter: int = 32
    normalize: str = "std"
    tile_size: int | None = None
    clip: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (
                _is_int(self.num_steps) and self.num_steps >= 1,
                f"num_steps must be an integer >= 1, got {self.num_steps!r}",
            ),
            (
                _is_number(self.step_size) and 0 < self.step_size < 1,
                f"step_size must be a number in (0, 1) (image in [0, 1]), got {self.step_size!r}",
            ),
            (
                _is_int(self.num_octaves) and self.num_octaves >= 1,
                f"num_octaves must be an integer >= 1, got {self.num_octaves!r}",
            ),
            (
                _is_number(self.octave_scale) and self.octave_scale > 1,
                f"octave_scale must be a number > 1 (each octave is larger), got {self.octave_scale!r}",
            ),
            (
                self.octave_mode in OCTAVE_MODES,
                f"octave_mode must be one of {OCTAVE_MODES}, got {self.octave_mode!r}",
            ),
            (
                _is_int(self.jitter) and self.jitter >= 0,
                f"jitter must be an integer >= 0, got {self.jitter!r}",
            ),
            (
                (self.normalize or "none") in METHODS,
                f"normalize must be one of {METHODS}, got {self.normalize!r}",
            ),
            (
                self.tile_size is None or (_is_int(self.tile_size) and self.tile_size >= 64),
                f"tile_size must be None or an integer >= 64, got {self.tile_size!r}",
            ),
            (
                _is_int(self.seed) and self.seed >= 0,
                f"seed must be an integer >= 0 (it seeds the jitter), got {self.seed!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise DeepDreamError(message + ".")


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and math.isfinite(value)


#: Named recipes, ``dream(image, config=PRESETS["strong"])``; ``dream()``'s defaults stay ``DreamConfig()``.
#: "strong": 2 octaves of 50 steps of 0.02 dream a picture as far as the TF tutorial's recipe (5 octaves of
#: 100 steps of 0.005: its objective at its final size) in a quarter of its CPU time; like the tutorial's, a
#: fifth of its colour values end clipped (the defaults: 2 %) (benchmarks/README.md, "One picture ...").
PRESETS: dict[str, DreamConfig] = {"strong": DreamConfig(num_steps=50, step_size=0.02, num_octaves=2)}


class StopDream(Exception):
    """Raise it in a ``post_step`` to end a dream early: :func:`dream` returns the image so far, with
    ``interrupted=True``, as after Ctrl-C but without a warning (the panels' Stop button does this)."""


@dataclass
class DreamResult:
    """What a dream returns: the image, how the objective rose, and how it was made."""

    image: np.ndarray  # (H, W, 3) in [0, 1], or (B, H, W, 3) for a batch
    history: list[float] = field(default_factory=list)  # objective (batch mean) before each step
    octaves: list[int] = field(default_factory=list)  # the octave of each step
    frames: list[np.ndarray] = field(default_factory=list)  # snapshots, full size, if record_every
    metadata: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Save as PNG with the model, objective and every parameter in the file's metadata."""
        return save_image(self.image, path, self.metadata, overwrite=overwrite)


# --- one step ------------------------------------------------------------------------------------


def objective_and_gradient(
    backbone: Backbone,
    objective: Objective,
    images: tf.Tensor,
    transform: Callable[[tf.Tensor], tf.Tensor] | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The objective (one value per image) and its gradient with respect to the pixels.

    Called eagerly on a network with a convolution whose kernel is smaller than its stride (ResNet's
    1x1 stride-2 shortcuts), it runs compiled instead (:func:`compiled_gradient`, same values): an eager
    tape also computes every convolution's kernel gradient, and with oneDNN on (Intel CPUs, Colab) that
    op crashed the process for such a convolution with few channels (issue 10). Compiled, the unused
    kernel gradient is pruned and never runs.
    """
    if tf.executing_eagerly() and has_kernel_smaller_than_stride(backbone.model):
        return compiled_gradient(backbone, objective, transform)(tf.convert_to_tensor(images, tf.float32))
    with tf.GradientTape() as tape:
        tape.watch(images)
        seen = images if transform is None else transform(images)
        values = evaluate_objective(backbone, objective, seen)
        total = tf.reduce_sum(values)
    return values, tape.gradient(total, images)


def has_kernel_smaller_than_stride(model: object) -> bool:
    """Whether a layer of a Keras ``model`` (nested models too) has a kernel smaller than its stride."""
    for item in getattr(model, "layers", ()):
        kernel, strides = getattr(item, "kernel_size", None), getattr(item, "strides", None)
        if kernel is not None and strides is not None:
            if any(k < s for k, s in zip(np.atleast_1d(kernel), np.atleast_1d(strides), strict=False)):
                return True
        if has_kernel_smaller_than_stride(item):
            return True
    return False


def compiled_gradient(
    backbone: Backbone, objective: Objective, transform: Callable[[tf.Tensor], tf.Tensor] | None = None
) -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
    """:func:`objective_and_gradient` compiled, as a function of the images (B, H, W, 3) float32.

    Kept in :data:`STEPS` (kind ``"gradient"``), so calling it again with an equal objective reuses the
    trace; the open input signature serves every image size.
    """

    def build() -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def gradient(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return objective_and_gradient(backbone, objective, images, transform)

        return gradient

    return STEPS.get((backbone, "gradient", objective.key, transform), build)


def evaluate_objective(backbone: Backbone, objective: Objective, images: tf.Tensor) -> tf.Tensor:
    """The objective of each image of a batch (B, H, W, 3) -> (B,): the layers it reads, then its value.

    The one place where activations, the input (``INPUT``) and an objective meet: the gradient above,
    :func:`objective_values` and the parameterised optimiser all call it.
    """
    activations = backbone.activations(images, sorted(objective.network_layers))
    activations[INPUT] = images
    return objective(activations)


def objective_values(backbone: Backbone | str, objective: Objective | str, images: np.ndarray) -> np.ndarray:
    """The objective of each image, without changing it: (H, W, 3) -> shape (1,), (B, H, W, 3) -> (B,)."""
    backbone = as_backbone(backbone)
    objective = as_objective(objective).validate(backbone)
    images = np.asarray(images, dtype=np.float32)
    batch = tf.constant(images[None] if images.ndim == 3 else images)
    return np.asarray(evaluate_objective(backbone, objective, batch), dtype=np.float64)


TILE_ALIGN = 32  # tiles start on multiples of this: the largest total stride in the model registry


def tile_starts(length: tf.Tensor, tile_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Start offsets and common size of the tiles that cover ``length`` pixels, each pixel once.

    Tile ``i`` spans ``[starts[i], starts[i + 1])``; the last one ends at ``length`` (it is shorter than
    ``size``, or up to ``TILE_ALIGN - 1`` px longer rather than leave a sliver). Tiles start at multiples
    of ``TILE_ALIGN`` so that each sees the same pooling grid as the whole image; otherwise its gradient
    differs everywhere, not only near its borders. Computed from the runtime shape (not the traced
    one), so it is right at every image size.
    """
    count = (length + tile_size - 1) // tile_size
    even = (length + count - 1) // count
    largest = max(TILE_ALIGN, tile_size // TILE_ALIGN * TILE_ALIGN)
    aligned = tf.minimum((even + TILE_ALIGN - 1) // TILE_ALIGN * TILE_ALIGN, largest)
    size = tf.where(count == 1, length, aligned)
    return tf.range(0, tf.maximum(length - TILE_ALIGN + 1, 1), size), size


def tiled_objective_and_gradient(
    backbone: Backbone,
    objective: Objective,
    images: tf.Tensor,
    tile_size: int,
    transform: Callable[[tf.Tensor], tf.Tensor] | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Like :func:`objective_and_gradient`, one tile at a time, so memory depends on the tile size.

    Each tile's objective is weighted by its share of the image's pixels, so for a mean objective the
    tiled value approximates the whole image's value; the gradient differs near tile borders, where
    a tile cannot see its neighbours. With one tile it equals the untiled gradient exactly. When a
    side is not a multiple of the layer's stride, the last tile's share of the feature map is a little
    smaller than its share of the pixels, so its gradient is a little too large everywhere (0.9 % for a
    195-px last tile at stride 4; lesson 03 measures it); normalising the step makes this harmless.
    """
    refuse_tiles(objective)
    shape = tf.shape(images)
    rows, tile_h = tile_starts(shape[1], tile_size)
    cols, tile_w = tile_starts(shape[2], tile_size)
    total_area = tf.cast(shape[1] * shape[2], tf.float32)
    gradient = tf.zeros_like(images)
    values = tf.zeros(shape[:1], tf.float32)
    for row in rows:
        for col in cols:
            row_end = tf.where(row == rows[-1], shape[1], row + tile_h)  # the last tile ends at the edge
            col_end = tf.where(col == cols[-1], shape[2], col + tile_w)
            tile = images[:, row:row_end, col:col_end, :]
            weight = tf.cast(tf.shape(tile)[1] * tf.shape(tile)[2], tf.float32) / total_area
            tile_values, tile_gradient = objective_and_gradient(backbone, objective, tile, transform)
            values += weight * tile_values
            paddings = [
                [0, 0],
                [row, shape[1] - row - tf.shape(tile)[1]],
                [col, shape[2] - col - tf.shape(tile)[2]],
                [0, 0],
            ]
            gradient += weight * tf.pad(tile_gradient, paddings)
    return values, gradient


def refuse_tiles(objective: Objective) -> None:
    """Raise :class:`~deepdream_lib.errors.ObjectiveError` if ``objective`` compares the images of a batch.

    A tile holds a piece of each image, so a term such as :func:`~deepdream_lib.objectives.diversity`
    would compare the pieces' styles, not the pictures'; tiled steps refuse it instead.
    """
    if objective.batch_terms:
        raise ObjectiveError(
            f"{', '.join(objective.batch_terms)} compares whole images of a batch and cannot be computed "
            "tile by tile: dream with tile_size=None (at most 1.5 Mpx), or drop the term."
        )


def make_step(
    backbone: Backbone,
    objective: Objective,
    normalize: str = "std",
    tile_size: int | None = None,
    clip: bool = True,
    transform: Callable[[tf.Tensor], tf.Tensor] | None = None,
) -> Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
    """Build one compiled DeepDream step: ``step(images, step_size, shift) -> (images, values)``.

    ``images`` is (B, H, W, 3) in [0, 1], ``shift`` the (dy, dx) jitter, ``values`` the objective of
    each image *before* the step. The input signature leaves H and W open, so octaves of any size
    reuse one trace (check with ``step.experimental_get_tracing_count()``). With ``tile_size``, an
    objective that compares the images of a batch is refused (:func:`refuse_tiles`).
    """
    if tile_size is not None:
        refuse_tiles(objective)

    def gradient_of(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if tile_size is None:
            return objective_and_gradient(backbone, objective, images, transform)
        return tiled_objective_and_gradient(backbone, objective, images, tile_size, transform)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([2], tf.int32),
        ]
    )
    def step(images: tf.Tensor, step_size: tf.Tensor, shift: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        rolled = tf.roll(images, shift=shift, axis=[1, 2])
        values, gradient = gradient_of(rolled)
        gradient = normalize_gradient(tf.roll(gradient, shift=-shift, axis=[1, 2]), normalize)
        images = images + step_size * gradient
        if clip:
            images = tf.clip_by_value(images, 0.0, 1.0)
        return images, values

    return step


STEP_CACHE_SIZE = 16  # each compiled step holds a traced graph of the network: keep a few, not all


class StepCache:
    """The engine's compiled steps, at most ``size`` of them, the least recently used evicted first.

    Tracing a step through the network takes ~1-2 s on a CPU, so dreaming again with an equal
    objective and the same settings reuses the step. Keys start with the backbone and the kind of
    step (``"dream"`` here, ``"visualize"`` for :func:`~deepdream_lib.parameterization.visualize`);
    the transform is part of the key as the object itself, so it stays alive while its step does.
    """

    def __init__(self, size: int = STEP_CACHE_SIZE):
        if size < 1:
            raise DeepDreamError(f"A step cache holds at least one step; got size={size!r}.")
        self.size = size
        self._steps: OrderedDict[tuple, Callable] = OrderedDict()

    def get(self, key: tuple[Hashable, ...], build: Callable[[], Callable]) -> Callable:
        """The step stored under ``key``; ``build()`` makes it on first use (and may evict the oldest)."""
        if key in self._steps:
            self._steps.move_to_end(key)
            return self._steps[key]
        step = self._steps[key] = build()
        while len(self._steps) > self.size:
            self._steps.popitem(last=False)
        return step

    def items(self) -> Iterator[tuple[tuple, Callable]]:
        """``(key, step)`` pairs, least recently used first."""
        return iter(list(self._steps.items()))

    def clear(self) -> None:
        """Forget every step (the next dream traces again)."""
        self._steps.clear()

    def __len__(self) -> int:
        return len(self._steps)

    def __repr__(self) -> str:
        return f"StepCache({len(self)} of {self.size} steps)"

    def __contains__(self, key: object) -> bool:
        return key in self._steps


STEPS = StepCache()  #: the one step cache, shared by :func:`dream` and the parameterised optimiser


def cached_step(
    backbone: Backbone, objective: Objective, normalize: str = "std", tile_size: int | None = None,
    clip: bool = True, transform: Callable[[tf.Tensor], tf.Tensor] | None = None,
) -> Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
    """:func:`make_step`, kept in :data:`STEPS`: dreaming again with an equal objective and the same
    settings reuses the compiled step instead of tracing the network again."""
    key = (backbone, "dream", objective.key, normalize, tile_size, clip, transform)
    return STEPS.get(key, lambda: make_step(backbone, objective, normalize, tile_size, clip, transform))


# --- octaves and the loop ------------------------------------------------------------------------


def octave_sizes(height: int, width: int, num_octaves: int, octave_scale: float) -> list[tuple[int, int]]:
    """Image sizes to dream at, smallest first; the last is the original size."""
    sizes = []
    for power in range(num_octaves - 1, -1, -1):
        factor = octave_scale**-power
        sizes.append((max(1, round(height * factor)), max(1, round(width * factor))))
    if min(sizes[0]) < MIN_OCTAVE_SIZE:
        raise DeepDreamError(
            f"With {num_octaves} octaves of scale {octave_scale}, the smallest octave is "
            f"{sizes[0][1]}x{sizes[0][0]} px (< {MIN_OCTAVE_SIZE}). Use fewer octaves or a larger image."
        )
    return sizes


def _resize(images: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    return tf.image.resize(images, size, method="bilinear")


def recipe_metadata(
    backbone: Backbone, objective: Objective, height: int, width: int, settings: Mapping[str, object]
) -> dict[str, str]:
    """How a picture was made, as PNG text fields: the recipe that :meth:`DreamResult.save` writes.

    The library version, model, objective, size (W x H) and every setting (``deepdream:<name>``).
    :func:`dream` and :func:`~deepdream_lib.parameterization.visualize` both build it this way;
    :func:`~deepdream_lib.images.read_metadata` reads it back.
    """
    return {
        "Software": f"deepdream_lib {__version__}",
        "deepdream:model": backbone.name,
        "deepdream:model_description": backbone.spec.description,
        "deepdream:objective": str(objective),
        "deepdream:size": f"{width}x{height}",
        **{f"deepdream:{key}": str(value) for key, value in settings.items()},
    }


def dream(
    image: ImageLike | np.ndarray,
    objective: Objective | str | None = None,
    model: Backbone | str = "vgg16_hed",
    config: DreamConfig | None = None,
    *,
    transform: Callable[[tf.Tensor], tf.Tensor] | None = None,
    post_step: Callable[[tf.Tensor, int], tf.Tensor] | None = None,
    record_every: int = 0,
    progress: bool = True,
    **settings,
) -> DreamResult:
    """Dream: amplify what ``model`` sees in ``image`` by gradient ascent on ``objective``.

    ``image`` is anything :func:`~deepdream_lib.images.load_image` accepts, or a batch (B, H, W, 3).
    ``objective`` is an :class:`~deepdream_lib.objectives.Objective` or a layer name (default: the
    model's default layer).
    Settings come from ``config`` and/or keyword arguments named as in :class:`DreamConfig`, e.g.
    ``dream(img, "block4_conv3", num_steps=10, num_octaves=2)``.

    ``transform`` is applied to the image inside the gradient (transformation robustness);
    ``post_step(images, step_index)`` runs after each step (e.g. a blur every k steps).
    ``record_every=k`` keeps a full-size frame every k steps. Ctrl-C, or :class:`StopDream` raised in
    ``post_step``, stops early and returns the dream so far (``interrupted=True``).
    """
    config = dataclasses.replace(config or DreamConfig(), **settings)
    backbone = as_backbone(model)
    objective = as_objective(objective or backbone.spec.default_layer).validate(backbone)
    images, batched = _as_batch(image)
    if objective.batch_terms and len(images) < 2:
        raise ObjectiveError(
            f"{', '.join(objective.batch_terms)} compares the images of a batch, and this batch has one: "
            "pass a batch (N, H, W, 3) of N >= 2 different images."
        )
    height, width = int(images.shape[1]), int(images.shape[2])
    if config.tile_size is None and height * width > MAX_UNTILED_PIXELS:
        raise DeepDreamError(
            f"A {width}x{height} image is too large to dream in one piece here; pass tile_size=512 "
            "(or shrink it with load_image(..., max_size=1024))."
        )
    sizes = octave_sizes(height, width, config.num_octaves, config.octave_scale)
    step = cached_step(backbone, objective, config.normalize, config.tile_size, config.clip, transform)
    rng = np.random.default_rng(config.seed)
    metadata = recipe_metadata(backbone, objective, height, width, dataclasses.asdict(config))
    result = DreamResult(image=np.empty(0), metadata=metadata)
    original = tf.constant(images)
    current, base = _resize(original, sizes[0]), _resize(original, sizes[0])
    start = time.perf_counter()
    bar = tqdm(total=len(sizes) * config.num_steps, disable=not progress, desc="dreaming", leave=False)
    try:
        for octave, size in enumerate(sizes):
            if octave > 0:
                if config.octave_mode == "detail":
                    detail = _resize(current - base, size)
                    base = _resize(original, size)
                    current = base + detail
                else:
                    current = _resize(current, size)
            for _ in range(config.num_steps):
                shift = rng.integers(-config.jitter, config.jitter + 1, size=2) if config.jitter else (0, 0)
                current, values = step(
                    current, tf.constant(config.step_size, tf.float32), tf.constant(shift, tf.int32)
                )
                if post_step is not None:
                    current = post_step(current, len(result.history))
                result.history.append(float(tf.reduce_mean(values)))
                result.octaves.append(octave)
                if record_every and len(result.history) % record_every == 0:
                    result.frames.append(_resize(current, (height, width)).numpy()[0])
                bar.update(1)
    except (KeyboardInterrupt, StopDream) as stop:
        result.interrupted = True
        if isinstance(stop, KeyboardInterrupt):
            warnings.warn("Dream interrupted: returning the image so far.", stacklevel=2)
    finally:
        bar.close()
    result.seconds = time.perf_counter() - start
    final = _resize(current, (height, width)) if current.shape[1:3] != (height, width) else current
    final = np.clip(final.numpy(), 0.0, 1.0) if config.clip else final.numpy()
    result.image = final if batched else final[0]
    return result


def _as_batch(image: ImageLike | np.ndarray) -> tuple[np.ndarray, bool]:
    """A (B, H, W, 3) float32 batch and whether the caller passed a batch."""
    if isinstance(image, np.ndarray) and image.ndim == 4:
        if len(image) == 0:
            raise ImageError(f"The batch {image.shape} is empty: give at least one image.")
        return np.stack([load_image(item) for item in image]), True
    if isinstance(image, tf.Tensor):
        return _as_batch(image.numpy())
    return load_image(image)[None], False
