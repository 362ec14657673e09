"""Bad inputs, one table: each is refused with an exception that says what to do, or handled correctly.

Every row gives the input (built in a temporary folder), what consumes it, the expected exception type
(or HANDLED: loaded as RGB floats in [0, 1] with the right colour; UPRIGHT: loaded with the right
shape, turned by its EXIF orientation), and a fragment the message must contain. The files a row reads
are never changed, errors come before any gradient is computed, and no row touches the internet (the
URL rows talk to a local server, tests/localservers.py, with the limits lowered so they take seconds).
"""

from __future__ import annotations

import importlib
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from deepdream_lib import images
from deepdream_lib.engine import MAX_UNTILED_PIXELS, dream
from deepdream_lib.errors import (
    DeepDreamError,
    ImageError,
    ObjectiveError,
    UnknownLayerError,
    UnknownModelError,
    WeightsUnavailableError,
)
from deepdream_lib.images import load_image, save_image
from deepdream_lib.models import load_model
from deepdream_lib.objectives import Objective, channel
from localservers import misbehaving_url

engine = importlib.import_module("deepdream_lib.engine")
HANDLED = "handled"
UPRIGHT = "upright"


# --- inputs (each builder gets a fresh temporary folder and returns the input) --------------------


def _file(name: str, write: Callable[[Path], object]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        write(path)
        return path

    return build


def _jpeg(path: Path, size=(48, 32)) -> None:
    Image.new("RGB", size, (200, 30, 60)).save(path, quality=90)


def _truncated_jpeg(path: Path) -> None:
    _jpeg(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _palette(path: Path) -> None:
    image = Image.new("P", (32, 32), 1)
    image.putpalette([255, 255, 255, 0, 128, 255] + [0] * 762)
    image.save(path)


def _png16_rgb(path: Path) -> None:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one), colour (65535, 32896, 0)."""
    width = height = 24
    row = b"\x00" + struct.pack(">3H", 65535, 32896, 0) * width  # filter byte, then big-endian samples

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )  # fmt: skip


def _folder(folder: Path) -> Path:
    (folder / "photos").mkdir()
    return folder / "photos"


def _value(value: object) -> Callable[[Path], object]:
    return lambda folder: value


def _sideways_jpeg(path: Path) -> None:
    """120x90 as stored, tagged "rotate 90 degrees clockwise to show" (EXIF orientation 6), as phones do."""
    exif = Image.Exif()
    exif[images.ORIENTATION_TAG] = 6
    Image.new("RGB", (120, 90), (200, 30, 60)).save(path, exif=exif, quality=90)


def _url(path: str) -> Callable[[Path], str]:
    return lambda folder: f"{misbehaving_url()}/{path}"


def _a_file_as_folder(folder: Path) -> Path:
    (folder / "notes.txt").write_text("a file")
    return folder / "notes.txt" / "out.png"


def _existing_png(folder: Path) -> Path:
    Image.new("RGB", (20, 20)).save(folder / "old.png")
    return folder / "old.png"


# --- consumers ---------------------------------------------------------------------------------------


def _dream(objective="block4_conv3", model="vgg16_hed", **settings) -> Callable[[object], object]:
    settings = {"num_steps": 1, "num_octaves": 1, "progress": False, **settings}
    return lambda source: dream(source, objective, model, **settings)


def _lowered(consume: Callable[[object], object], **limits: float) -> Callable[[object], object]:
    """``consume`` with some of deepdream_lib.images' limits lowered while it runs (e.g. URL_TIMEOUT_S)."""

    def run(source: object) -> object:
        saved = {name: getattr(images, name) for name in limits}
        try:
            for name, value in limits.items():
                setattr(images, name, value)
            return consume(source)
        finally:
            for name, value in saved.items():
                setattr(images, name, value)

    return run


def _save(overwrite: bool = False) -> Callable[[object], object]:
    return lambda path: save_image(np.zeros((20, 20, 3), np.float32), path, overwrite=overwrite)


FROZEN = Objective(lambda acts: tf.reduce_mean(tf.stop_gradient(acts["block4_conv3"]), axis=[1, 2, 3]),
                   ["block4_conv3"], "frozen_block4")  # fmt: skip
SNEAKY = Objective(lambda acts: tf.reduce_mean(acts["block5_conv1"], axis=[1, 2, 3]), ["block4_conv3"],
                   "sneaky_block5")  # fmt: skip


CAT = _value("sample:chelsea")
HUGE = np.zeros((1225, 1225, 3), np.float32)  # 1,500,625 px: just above MAX_UNTILED_PIXELS
assert HUGE.shape[0] * HUGE.shape[1] > MAX_UNTILED_PIXELS

ROWS = [
    # files and URLs
    pytest.param(_value(Path("no/such/photo.jpg")), load_image, ImageError, "No such file",
                 id="missing-path"),
    pytest.param(_folder, load_image, ImageError, "is a directory", id="directory"),
    pytest.param(_file("notes.jpg", lambda p: p.write_text("not a picture")), load_image, ImageError,
                 "not an image file", id="text-file-named-jpg"),
    pytest.param(_file("cut.jpg", _truncated_jpeg), load_image, ImageError, "truncated or corrupt",
                 id="truncated-jpeg"),
    pytest.param(_file("dot.png", lambda p: Image.new("RGB", (1, 1)).save(p)), load_image, ImageError,
                 "at least 16 px", id="1x1-image"),
    pytest.param(_value("http://127.0.0.1:9/x.png"), load_image, ImageError, "Could not download",
                 id="unreachable-url"),
    pytest.param(_value("file:///etc/hostname"), load_image, ImageError, "Only http:// and https://",
                 id="file-url"),
    pytest.param(_value("ftp://example.org/x.png"), load_image, ImageError, "not ftp://", id="ftp-url"),
    pytest.param(_value("sample:dog"), load_image, ImageError, "Available samples: chelsea",
                 id="unknown-sample"),
    pytest.param(_value(12), load_image, ImageError, "Cannot load an image from a int", id="not-an-image"),
    pytest.param(_value(b"GIF89a, but not really"), load_image, ImageError, "<22 bytes> is not an image file",
                 id="bytes-not-an-image"),
    pytest.param(_url("trickle.png"), _lowered(load_image, URL_TIMEOUT_S=1.0), ImageError,
                 "/trickle.png: the download took longer than 1 s (URL_TIMEOUT_S",
                 id="url-trickles-past-deadline"),
    pytest.param(_url("declared"), _lowered(load_image, MAX_URL_BYTES=10_000), ImageError,
                 "/declared is larger than 10,000 bytes (MAX_URL_BYTES", id="url-declares-too-many-bytes"),
    pytest.param(_url("undeclared"), _lowered(load_image, MAX_URL_BYTES=10_000), ImageError,
                 "/undeclared is larger than 10,000 bytes (MAX_URL_BYTES", id="url-sends-too-many-bytes"),
    # photos taken sideways come upright (message field: the expected height and width)
    pytest.param(_file("phone.jpg", _sideways_jpeg), load_image, UPRIGHT, (120, 90), id="exif-rotated-path"),
    pytest.param(lambda folder: _file("phone.jpg", _sideways_jpeg)(folder).read_bytes(), load_image, UPRIGHT,
                 (120, 90), id="exif-rotated-bytes"),
    pytest.param(lambda folder: Image.open(_file("phone.jpg", _sideways_jpeg)(folder)), load_image, UPRIGHT,
                 (120, 90), id="exif-rotated-pil"),
    # where a dream is saved
    pytest.param(_folder, _save(overwrite=True), ImageError,
                 "photos is a folder; give the name of an image file", id="save-to-a-folder"),
    pytest.param(_value(Path("no/such/folder/out.png")), _save(), ImageError,
                 "does not exist; create it first", id="save-into-a-missing-folder"),
    pytest.param(_a_file_as_folder, _save(), ImageError, "notes.txt is a file, not a folder",
                 id="save-under-a-file"),
    pytest.param(_value(Path("/proc/deepdream.png")), _save(), ImageError,
                 "/proc/deepdream.png cannot be written: the folder /proc takes no new files",
                 id="save-where-nothing-can-be-written",
                 marks=pytest.mark.skipif(not Path("/proc").is_dir(), reason="Linux only")),
    pytest.param(_existing_png, _save(), FileExistsError, "exists; pass overwrite=True",
                 id="save-over-a-file"),
    pytest.param(_value(Path("out.xyz")), _save(), ImageError, "end its name with .png",
                 id="save-unknown-format"),
    # images in other modes: handled, with the right colours (message field: the expected RGB at (0, 0))
    pytest.param(_file("rgba.png", lambda p: Image.new("RGBA", (32, 32), (255, 0, 0, 128)).save(p)),
                 load_image, HANDLED, (1.0, 127 / 255, 127 / 255), id="rgba-png-over-white"),
    pytest.param(_file("la.png", lambda p: Image.new("LA", (32, 32), (50, 255)).save(p)), load_image, HANDLED,
                 (50 / 255,) * 3, id="la-png"),
    pytest.param(_file("clear.png", lambda p: Image.new("LA", (32, 32), (0, 0)).save(p)), load_image, HANDLED,
                 (1.0, 1.0, 1.0), id="transparent-png-is-white"),
    pytest.param(_file("p.png", _palette), load_image, HANDLED, (0.0, 128 / 255, 1.0), id="palette-png"),
    pytest.param(_file("cmyk.jpg", lambda p: Image.new("CMYK", (32, 32), (0, 255, 0, 0)).save(p, quality=95)),
                 load_image, HANDLED, (1.0, 0.0, 1.0), id="cmyk-jpeg"),
    pytest.param(_file("gray16.png", lambda p: Image.fromarray(np.full((32, 32), 32768, np.uint16)).save(p)),
                 load_image, HANDLED, (0.5, 0.5, 0.5), id="16-bit-gray-png"),
    pytest.param(_file("dark16.png", lambda p: Image.fromarray(np.full((32, 32), 200, np.uint16)).save(p)),
                 load_image, HANDLED, (200 / 65535,) * 3, id="16-bit-dark-png-not-rescaled"),
    pytest.param(_file("rgb16.png", _png16_rgb), load_image, HANDLED, (1.0, 128 / 255, 0.0),
                 id="16-bit-rgb-png"),
    # arrays
    pytest.param(_value(np.full((32, 32, 3), np.nan, np.float32)), load_image, ImageError, "NaN",
                 id="nan-array"),
    pytest.param(_value(np.zeros((32, 32, 3), np.complex64)), load_image, ImageError,
                 "Unsupported image dtype complex64", id="complex-array"),
    pytest.param(_value(np.zeros((32, 32, 3), object)), load_image, ImageError,
                 "Unsupported image dtype object", id="object-array"),
    pytest.param(_value(np.zeros((32, 32, 3), np.int64)), load_image, ImageError, "use uint8 (0-255)",
                 id="int64-array"),
    pytest.param(_value(np.full((32, 32, 3), 200.0)), load_image, ImageError, "Divide 0-255 images by 255",
                 id="float-0-255-array"),
    pytest.param(_value(np.zeros((32, 32, 2), np.uint8)), load_image, ImageError, "must have shape",
                 id="two-channel-array"),
    # the dream's settings and names
    pytest.param(_value(HUGE), _dream(), DeepDreamError, "pass tile_size=512", id="huge-image-without-tiles"),
    pytest.param(_value(np.zeros((0, 32, 32, 3), np.float32)), _dream(), ImageError,
                 "The batch (0, 32, 32, 3) is empty: give at least one image", id="empty-batch"),
    pytest.param(CAT, _dream(model="vgg17"), UnknownModelError, "Known models: vgg16_hed",
                 id="unknown-model"),
    pytest.param(CAT, _dream(objective="block4_conv4"), UnknownLayerError,
                 "Suggested layers: block1_conv2, block2_conv2, block3_conv3, block4_conv3",
                 id="unknown-layer"),
    pytest.param(CAT, _dream(objective=channel("block4_conv3", 512)), DeepDreamError,
                 "has 512 channels (0..511)", id="channel-out-of-range"),
    pytest.param(CAT, _dream(num_steps=0), DeepDreamError, "num_steps must be an integer >= 1",
                 id="zero-steps"),
    pytest.param(CAT, _dream(num_steps=-3), DeepDreamError, "num_steps", id="negative-steps"),
    pytest.param(CAT, _dream(num_steps=2.5), DeepDreamError, "num_steps", id="fractional-steps"),
    pytest.param(CAT, _dream(step_size=0.0), DeepDreamError, "step_size must be a number in (0, 1)",
                 id="zero-step-size"),
    pytest.param(CAT, _dream(step_size=-0.01), DeepDreamError, "step_size", id="negative-step-size"),
    pytest.param(CAT, _dream(step_size=float("nan")), DeepDreamError, "step_size", id="nan-step-size"),
    pytest.param(CAT, _dream(octave_scale=1.0), DeepDreamError, "octave_scale must be a number > 1",
                 id="octave-scale-1"),
    pytest.param(CAT, _dream(octave_scale=0.7), DeepDreamError, "octave_scale", id="octave-scale-below-1"),
    pytest.param(CAT, _dream(num_octaves=30), DeepDreamError, "Use fewer octaves", id="too-many-octaves"),
    pytest.param(CAT, _dream(normalize="l2"), DeepDreamError, "normalize must be one of",
                 id="unknown-normalize"),
    pytest.param(CAT, _dream(octave_mode="zoom"), DeepDreamError, "octave_mode", id="unknown-octave-mode"),
    pytest.param(CAT, _dream(jitter=-1), DeepDreamError, "jitter", id="negative-jitter"),
    pytest.param(CAT, _dream(tile_size=10), DeepDreamError, "tile_size must be None or an integer >= 64",
                 id="tiny-tiles"),
    pytest.param(CAT, _dream(num_step=3), TypeError, "num_step", id="misspelt-setting"),
    pytest.param(CAT, _dream(seed=-1), DeepDreamError, "seed must be an integer >= 0", id="negative-seed"),
    pytest.param(CAT, _dream(seed=1.5), DeepDreamError,
                 "seed must be an integer >= 0 (it seeds the jitter), got 1.5", id="fractional-seed"),
    pytest.param(CAT, _dream(objective=FROZEN), ObjectiveError,
                 "The objective frozen_block4 has no gradient: its value does not depend on what it reads",
                 id="objective-without-gradient"),
    pytest.param(CAT, _dream(objective=SNEAKY), ObjectiveError,
                 "The objective sneaky_block5 reads layer 'block5_conv1', which it did not declare "
                 "(declared: block4_conv3)", id="objective-reads-an-undeclared-layer"),
    pytest.param(_value("resnet50"), load_model, WeightsUnavailableError, "'vgg16_hed'",
                 id="offline-imagenet-weights"),
]  # fmt: skip


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    } | {str(path.relative_to(folder)): (b"<dir>", 0) for path in folder.rglob("*") if path.is_dir()}


@pytest.fixture
def no_compute_no_network(monkeypatch):
    """Fail a row that computes a gradient (errors must come first) or that asks the network for weights."""
    from keras.src.utils import file_utils

    def computed(*args, **kwargs):
        raise AssertionError("a gradient step was built before the bad input was refused")

    def offline(*args, **kwargs):
        raise OSError("no internet in tests (simulated)")

    monkeypatch.setattr(engine, "cached_step", computed)
    monkeypatch.setattr(file_utils, "get_file", offline)


@pytest.mark.parametrize(("build", "consume", "expected", "message"), ROWS)
def test_bad_input(tmp_path, no_compute_no_network, build, consume, expected, message):
    source = build(tmp_path)
    before = _snapshot(tmp_path)
    if expected in (HANDLED, UPRIGHT):
        image = consume(source)
        assert image.dtype == np.float32 and image.ndim == 3 and image.shape[-1] == 3
        assert 0.0 <= image.min() and image.max() <= 1.0
        if expected == UPRIGHT:
            assert image.shape[:2] == message
        else:
            np.testing.assert_allclose(image[0, 0], message, atol=2 / 255)
            assert np.all(image == image[0, 0])  # a flat colour in, a flat colour out
    else:
        with pytest.raises(expected) as caught:
            consume(source)
        assert message in str(caught.value)
        assert "\n" not in str(caught.value)
    assert _snapshot(tmp_path) == before  # nothing written, nothing touched


def test_the_table_is_large():
    assert len(ROWS) >= 60
    assert sum(row.values[2] == HANDLED for row in ROWS) >= 6
    assert sum(row.values[2] == UPRIGHT for row in ROWS) == 3  # path, bytes, PIL (the URL route: test_images)
