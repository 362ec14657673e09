"""Parameterisations: what the optimiser changes, and how that becomes an image.

DeepDream changes the pixels directly. Feature visualisation (Olah et al., *Feature Visualization*,
Distill 2017; Lucid's ``param.spatial.fft_image`` and ``param.color.to_valid_rgb``) changes something
else and *computes* the image from it:

    image = sigmoid( C @ irfft2d( scale(f) * spectrum ) / 4 )

* ``spectrum`` holds one complex number per spatial frequency f and colour channel: the parameters.
* ``scale(f) = sqrt(H W) / max(f, 1 / max(H, W))``: a 1/f spectrum, like a natural photo's. A random
  spectrum then gives a smooth, cloud-like image, and one optimiser step moves every frequency band
  about equally far *in the image*, instead of letting the many high frequencies dominate.
* ``C`` is the square root of ImageNet's colour correlation (Lucid's values), scaled so its largest
  column has norm 1: the parameters live in a decorrelated colour space.
* the sigmoid maps any real number into (0, 1), so the image is always valid: no clipping.

The pixel parameterisation is ``image = sigmoid(parameters)`` (one number per pixel and colour).
Both can start from noise or from a photo (:meth:`Parameterization.from_image` inverts the map), and
:func:`visualize` optimises either with Adam, maximising an objective as
:func:`~deepdream_lib.engine.dream` does.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from deepdream_lib.engine import STEPS, DreamResult, _as_batch, evaluate_objective, recipe_metadata
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.images import ImageLike
from deepdream_lib.models import Backbone, as_backbone
from deepdream_lib.objectives import Objective, as_objective
from deepdream_lib.regularizers import describe

#: Square root of ImageNet's RGB colour correlation (Lucid's ``color_correlation_svd_sqrt``).
COLOR_CORRELATION_SQRT = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32
)
#: The same, scaled so its largest column has norm 1 (what the images are computed with).
COLOR_MATRIX = COLOR_CORRELATION_SQRT / np.max(np.linalg.norm(COLOR_CORRELATION_SQRT, axis=0))
FFT_DIVISOR = 4.0  # Lucid divides the inverse FFT by 4 so that the sigmoid starts in its linear range
EDGE = 1e-3  # photos are clipped to [EDGE, 1 - EDGE] before the sigmoid is inverted (logit(0) = -inf)
KINDS = ("fourier", "pixel")


def rfft_frequencies(height: int, width: int) -> np.ndarray:
    """Spatial frequency (cycles/pixel) of each entry of ``rfft2d`` of an H x W image: (H, W // 2 + 1)."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    return np.sqrt(fx**2 + fy**2)


def spectrum_scale(height: int, width: int, decay_power: float = 1.0) -> np.ndarray:
    """``sqrt(H W) / max(f, 1 / max(H, W)) ** decay_power``: the 1/f scaling of each frequency."""
    frequencies = np.maximum(rfft_frequencies(height, width), 1.0 / max(height, width))
    return (np.sqrt(height * width) / frequencies**decay_power).astype(np.float32)


def decorrelated_to_rgb(values: tf.Tensor) -> tf.Tensor:
    """(..., 3) values in the decorrelated colour space -> RGB in (0, 1): ``sigmoid(values @ C^T)``."""
    return tf.sigmoid(tf.tensordot(tf.convert_to_tensor(values, tf.float32), COLOR_MATRIX.T, axes=1))


def rgb_to_decorrelated(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`decorrelated_to_rgb` (pixels clipped to [EDGE, 1 - EDGE] first)."""
    image = np.clip(np.asarray(image, dtype=np.float64), EDGE, 1 - EDGE)
    logits = np.log(image / (1 - image))
    return (logits @ np.linalg.inv(COLOR_MATRIX.T.astype(np.float64))).astype(np.float32)


class Parameterization:
    """How a tensor of parameters becomes a batch of images (B, H, W, 3) in (0, 1), and back."""

    kind = "?"

    def __init__(self, height: int, width: int):
        self.height, self.width = int(height), int(width)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.height}x{self.width})"

    def to_image(self, params: tf.Tensor) -> tf.Tensor:
        """Parameters -> images (B, H, W, 3) in (0, 1); differentiable."""
        raise NotImplementedError

    def from_image(self, images: np.ndarray) -> np.ndarray:
        """Images (B, H, W, 3) or (H, W, 3) -> the parameters that give them back (the exact inverse)."""
        raise NotImplementedError

    def random(self, batch: int = 1, seed: int = 0, sd: float = 0.01) -> np.ndarray:
        """Small random parameters: a starting point with nothing in it (near gray)."""
        raise NotImplementedError


class PixelParam(Parameterization):
    """One free number per pixel and colour: ``image = sigmoid(params)``, params (B, H, W, 3)."""

    kind = "pixel"

    def to_image(self, params: tf.Tensor) -> tf.Tensor:
        return tf.sigmoid(tf.convert_to_tensor(params, tf.float32))

    def from_image(self, images: np.ndarray) -> np.ndarray:
        images = _batch(images)
        clipped = np.clip(images.astype(np.float64), EDGE, 1 - EDGE)
        return np.log(clipped / (1 - clipped)).astype(np.float32)

    def random(self, batch: int = 1, seed: int = 0, sd: float = 0.01) -> np.ndarray:
        # Lucid's pixel image starts as N(0, sd) noise too: white noise, every frequency equally strong
        rng = np.random.default_rng(seed)
        return rng.normal(0.0, sd, (batch, self.height, self.width, 3)).astype(np.float32)


class FourierParam(Parameterization):
    """A decorrelated, 1/f-scaled Fourier spectrum: params (B, 3, H, W // 2 + 1, 2), real and imaginary.

    ``image = sigmoid(C @ irfft2d(scale * spectrum) / 4)`` (see the module docstring).
    """

    kind = "fourier"

    def __init__(self, height: int, width: int, decay_power: float = 1.0):
        super().__init__(height, width)
        self.decay_power = float(decay_power)
        self.scale = tf.constant(spectrum_scale(self.height, self.width, self.decay_power))

    def spectrum_shape(self, batch: int) -> tuple[int, ...]:
        return (batch, 3, self.height, self.width // 2 + 1, 2)

    def to_image(self, params: tf.Tensor) -> tf.Tensor:
        params = tf.convert_to_tensor(params, tf.float32)
        spectrum = tf.complex(params[..., 0] * self.scale, params[..., 1] * self.scale)
        planes = tf.signal.irfft2d(spectrum, fft_length=[self.height, self.width])  # (B, 3, H, W)
        decorrelated = tf.transpose(planes, (0, 2, 3, 1)) / FFT_DIVISOR
        return decorrelated_to_rgb(decorrelated)

    def from_image(self, images: np.ndarray) -> np.ndarray:
        images = _batch(images)
        if images.shape[1:3] != (self.height, self.width):
            raise DeepDreamError(
                f"The image is {images.shape[2]}x{images.shape[1]} px; this parameterisation is "
                f"{self.width}x{self.height}."
            )
        planes = np.transpose(rgb_to_decorrelated(images) * FFT_DIVISOR, (0, 3, 1, 2))
        spectrum = np.fft.rfft2(planes.astype(np.float64)) / spectrum_scale(
            self.height, self.width, self.decay_power
        )
        return np.stack([spectrum.real, spectrum.imag], axis=-1).astype(np.float32)

    def random(self, batch: int = 1, seed: int = 0, sd: float = 0.01) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return rng.normal(0.0, sd, self.spectrum_shape(batch)).astype(np.float32)


def empty_image(size: int | tuple[int, int], noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """An "empty" start for a dream: mid-gray plus a whisper of Gaussian noise (std ``noise``).

    The noise only breaks the symmetry (a perfectly flat image gives every position the same gradient);
    it is far too faint to see.
    """
    height, width = (size, size) if isinstance(size, (int, np.integer)) else size
    rng = np.random.default_rng(seed)
    return np.clip(0.5 + noise * rng.normal(size=(height, width, 3)), 0.0, 1.0).astype(np.float32)


@functools.lru_cache(maxsize=32)
def make_param(kind: str, height: int, width: int, decay_power: float = 1.0) -> Parameterization:
    """A parameterisation by name, ``"fourier"`` or ``"pixel"`` (cached: equal requests share one)."""
    if kind == "fourier":
        return FourierParam(height, width, decay_power)
    if kind == "pixel":
        return PixelParam(height, width)
    raise DeepDreamError(f"Unknown parameterisation {kind!r}; choose one of {', '.join(KINDS)}.")


def _batch(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise DeepDreamError(f"Expected an image (H, W, 3) or a batch (B, H, W, 3), got {images.shape}.")
    return images


# --- the optimiser -------------------------------------------------------------------------------------

ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8


def _make_step(
    backbone: Backbone,
    objective: Objective,
    param: Parameterization,
    transform: Callable[[tf.Tensor], tf.Tensor] | None,
) -> Callable:
    """One compiled Adam step on the parameters, climbing the objective (kept in the engine's cache)."""
    key = (backbone, "visualize", objective.key, param, transform)
    return STEPS.get(key, lambda: _adam_step(backbone, objective, param, transform))


def _adam_step(
    backbone: Backbone,
    objective: Objective,
    param: Parameterization,
    transform: Callable[[tf.Tensor], tf.Tensor] | None,
) -> Callable:
    """Trace a new Adam step: ``step(params, m, v, t, learning_rate) -> (params, m, v, values)``."""
    beta1, beta2 = ADAM_BETAS

    @tf.function
    def step(params, m, v, t, learning_rate):
        with tf.GradientTape() as tape:
            tape.watch(params)
            images = param.to_image(params)
            seen = images if transform is None else transform(images)
            values = evaluate_objective(backbone, objective, seen)
            total = tf.reduce_sum(values)
        gradient = tape.gradient(total, params)  # ascent: we follow +gradient
        m = beta1 * m + (1 - beta1) * gradient
        v = beta2 * v + (1 - beta2) * tf.square(gradient)
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        params = params + learning_rate * m_hat / (tf.sqrt(v_hat) + ADAM_EPSILON)
        return params, m, v, values

    return step


def visualize(
    objective: Objective | str,
    model: Backbone | str = "vgg16_hed",
    image: int | tuple[int, int] | ImageLike | np.ndarray = 128,
    *,
    param: str = "fourier",
    num_steps: int = 256,
    learning_rate: float = 0.05,
    transform: Callable[[tf.Tensor], tf.Tensor] | None = None,
    batch: int = 1,
    seed: int = 0,
    decay_power: float = 1.0,
    progress: bool = True,
) -> DreamResult:
    """Feature visualisation: maximise ``objective`` by Adam on the parameters of an image.

    ``image`` is a size (``128`` or ``(height, width)``: start from small random parameters, a near-gray
    image) or a photo / batch of photos (start from exactly that image). ``param`` is ``"fourier"``
    (decorrelated 1/f spectrum) or ``"pixel"``. ``transform`` (see :mod:`deepdream_lib.regularizers`)
    is applied to the image inside the gradient. ``batch`` makes that many independent images from
    noise (e.g. with :func:`~deepdream_lib.objectives.channels`). Objectives are maximised, as in
    :func:`~deepdream_lib.engine.dream`; the result's ``history`` holds the objective (batch mean) before
    each step. Ctrl-C stops early and returns the image so far.
    """
    if not (isinstance(num_steps, int) and num_steps >= 1):
        raise DeepDreamError(f"num_steps must be an integer >= 1, got {num_steps!r}.")
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise DeepDreamError(f"learning_rate must be a positive number, got {learning_rate!r}.")
    backbone = as_backbone(model)
    objective = as_objective(objective).validate(backbone)
    start_images = _start_images(image)
    if start_images is None:
        height, width = (image, image) if isinstance(image, (int, np.integer)) else image
        parameterization = make_param(param, int(height), int(width), decay_power)
        params = parameterization.random(batch, seed)
    else:
        height, width = start_images.shape[1:3]
        parameterization = make_param(param, int(height), int(width), decay_power)
        params = parameterization.from_image(start_images)
    step = _make_step(backbone, objective, parameterization, transform)

    params = tf.constant(params)
    m, v = tf.zeros_like(params), tf.zeros_like(params)
    rate = tf.constant(float(learning_rate), tf.float32)
    settings = {
        "method": "visualize (Adam on a parameterised image)",
        "param": param,
        "num_steps": num_steps,
        "learning_rate": learning_rate,
        "transform": describe(transform),
        "seed": seed,
        "start": "noise" if start_images is None else "image",
    }
    metadata = recipe_metadata(backbone, objective, int(height), int(width), settings)
    result = DreamResult(image=np.empty(0), metadata=metadata)
    start = time.perf_counter()
    try:
        for t in tqdm(range(1, num_steps + 1), disable=not progress, desc="visualizing", leave=False):
            params, m, v, values = step(params, m, v, tf.constant(float(t)), rate)
            result.history.append(float(tf.reduce_mean(values)))
            result.octaves.append(0)
    except KeyboardInterrupt:
        result.interrupted = True
        warnings.warn("Visualisation interrupted: returning the image so far.", stacklevel=2)
    result.seconds = time.perf_counter() - start
    images = parameterization.to_image(params).numpy()
    batched = start_images is None and batch > 1 or start_images is not None and start_images.shape[0] > 1
    result.image = images if batched else images[0]
    return result


def _start_images(image: object) -> np.ndarray | None:
    """None for a size; otherwise the photo(s) as a (B, H, W, 3) float32 batch."""
    if isinstance(image, (int, np.integer)) and not isinstance(image, bool):
        return None
    if isinstance(image, tuple) and len(image) == 2 and all(isinstance(s, (int, np.integer)) for s in image):
        return None
    return _as_batch(image)[0]  # the engine's reading of an image or a batch, as dream() does
