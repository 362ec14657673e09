"""Images in and out: load from anywhere, convert to RGB floats in [0, 1], resize, save.

Inside the library an image is a ``float32`` array of shape ``(H, W, 3)`` with values in ``[0, 1]``
(or a batch ``(B, H, W, 3)``). Every loader returns that form, whatever came in: a path, a URL, the
bytes of an image file, a numpy array, a PIL image, or the name of a sample image bundled with
scikit-image. Photos come upright: the EXIF orientation that phones write is applied on load.
"""

from __future__ import annotations

import http.client
import io
import os
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from deepdream_lib.errors import ImageError

ImageLike = str | os.PathLike | bytes | np.ndarray | Image.Image

#: Samples that scikit-image ships inside its wheel (no download needed).
SAMPLES: dict[str, str] = {
    "chelsea": "Chelsea the cat (scikit-image)",
    "astronaut": "Eileen Collins, NASA astronaut (public domain, scikit-image)",
    "coffee": "A cup of espresso (scikit-image)",
    "rocket": "A rocket on its launch pad (public domain, scikit-image)",
    "hubble_deep_field": "Hubble eXtreme Deep Field (public domain, scikit-image)",
    "immunohistochemistry": "Stained tissue under a microscope (scikit-image)",
    "camera": "The cameraman, grayscale (scikit-image)",
}

ORIENTATION_TAG = 0x0112  # EXIF "Orientation": 1 upright, 6 rotate 90 degrees clockwise to show, ...
MIN_SIZE = 16  # smallest side in pixels that the networks here can look at
MAX_PIXELS = 64_000_000  # refuse larger inputs outright (decompression bombs)
MAX_URL_BYTES = 25 * 1024 * 1024  # a download larger than this is refused
URL_TIMEOUT_S = 30.0  # deadline for a whole download: name lookup, connection and every read
URL_CHUNK_BYTES = 64 * 1024


def sample(name: str, max_size: int | None = None) -> np.ndarray:
    """Load a sample image bundled with scikit-image, e.g. ``sample("chelsea", max_size=256)``."""
    if name not in SAMPLES:
        raise ImageError(f"Unknown sample {name!r}. Available samples: {', '.join(SAMPLES)}.")
    import skimage.data

    return load_image(getattr(skimage.data, name)(), max_size=max_size)


def load_image(source: ImageLike, max_size: int | None = None) -> np.ndarray:
    """Load an image as float32 RGB in [0, 1], shape (H, W, 3).

    ``source`` is a file path, an ``http(s)://`` URL, the bytes of an image file, a numpy array (uint8,
    uint16, bool or float in [0, 1]; grayscale, RGB or RGBA), a PIL image, or ``"sample:NAME"`` for a
    bundled sample. Files, URLs, bytes and PIL images are turned upright by their EXIF orientation.
    A URL must download within ``URL_TIMEOUT_S`` seconds in all and be at most ``MAX_URL_BYTES``.
    ``max_size`` shrinks the image (keeping its aspect ratio) so its longer side is at most that.
    """
    if isinstance(source, Image.Image):
        array = pil_to_array(upright(source))
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        array = pil_to_array(_open_pil(data, f"<{len(data):,} bytes>"))
    elif isinstance(source, np.ndarray):
        array = array_to_rgb(source)
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith("sample:"):
            return sample(text.removeprefix("sample:"), max_size=max_size)
        if "://" in text:
            array = pil_to_array(_open_pil(_fetch_url(text), text))
        else:
            array = pil_to_array(_open_pil(_read_path(Path(text)), text))
    else:
        raise ImageError(
            f"Cannot load an image from a {type(source).__name__}: give a path, a URL, the bytes of an "
            "image file, a numpy array or a PIL image."
        )
    _check_size(array.shape[:2])
    return resize_max(array, max_size) if max_size else array


def _read_path(path: Path) -> bytes:
    if not path.exists():
        raise ImageError(f"No such file: {path}. Check the path (relative paths start at {Path.cwd()}).")
    if path.is_dir():
        raise ImageError(f"{path} is a directory; give the path of an image file inside it.")
    return path.read_bytes()


def _fetch_url(url: str) -> bytes:
    """Download ``url`` within ``URL_TIMEOUT_S`` seconds in all, refusing more than ``MAX_URL_BYTES``.

    The download runs in a worker thread that the caller waits for at most the deadline, so a name
    lookup, a connection or a server that trickles bytes cannot hold the caller longer (a socket
    timeout alone applies to each read, not to the whole). The worker stops by itself at the deadline.
    """
    scheme = urllib.parse.urlparse(url).scheme.lower()
    if scheme not in {"http", "https"}:
        raise ImageError(f"Only http:// and https:// URLs can be loaded, not {scheme}:// ({url}).")
    timeout, limit = float(URL_TIMEOUT_S), int(MAX_URL_BYTES)
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["data"] = _download(url, time.monotonic() + timeout, limit)
        except Exception as error:  # handed to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=work, name="deepdream-download", daemon=True)
    worker.start()
    worker.join(timeout)
    error = outcome.get("error")
    if worker.is_alive() or isinstance(error, TimeoutError) or isinstance(
        getattr(error, "reason", None), TimeoutError
    ):
        raise ImageError(
            f"Gave up on {url}: the download took longer than {timeout:g} s (URL_TIMEOUT_S, the limit for "
            "the whole download). Check the address, or download the file and load it from disk."
        )
    if isinstance(error, _TooLarge):
        raise ImageError(
            f"{url} is larger than {_size_text(limit)} (MAX_URL_BYTES, the download limit); download it "
            "and resize it first."
        )
    if isinstance(error, (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)):
        raise ImageError(
            f"Could not download {url}: {error}. Offline? Use a bundled sample, e.g. sample('chelsea')."
        ) from error
    if error is not None:
        raise error
    return outcome["data"]


class _TooLarge(Exception):
    """A download went past its size limit (turned into an ImageError that names the URL)."""


def _download(url: str, deadline: float, limit: int) -> bytes:
    """The body of ``url``, read in chunks until the end, ``deadline`` (monotonic clock) or ``limit``."""
    remaining = max(deadline - time.monotonic(), 0.001)
    with urllib.request.urlopen(url, timeout=remaining) as response:  # noqa: S310 (scheme checked)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks, size = [], 0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = response.read1(URL_CHUNK_BYTES)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)


def _size_text(size: int) -> str:
    return f"{size / 2**20:g} MiB" if size >= 2**20 else f"{size:,} bytes"


def _open_pil(data: bytes, name: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(
                f"{name} is {image.width}x{image.height} pixels, more than {MAX_PIXELS:,}; resize it first."
            )
        image.load()
        return upright(image)
    except UnidentifiedImageError as error:
        raise ImageError(f"{name} is not an image file that Pillow can read.") from error
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageError(f"{name} could not be decoded (truncated or corrupt?): {error}") from error


def upright(image: Image.Image) -> Image.Image:
    """``image`` turned the way its EXIF orientation tag says it is shown (phones store photos sideways).

    An image without the tag is returned as it is. (Pillow's ``ImageOps.exif_transpose``.)
    """
    if image.getexif().get(ORIENTATION_TAG, 1) == 1:
        return image
    return ImageOps.exif_transpose(image)


def pil_to_array(image: Image.Image) -> np.ndarray:
    """Convert a PIL image of any mode (L, LA, RGBA, P, CMYK, I;16, I, F, ...) to RGB floats in [0, 1].

    Transparent pixels are composited over white; 16- and 32-bit images are scaled by their range.
    """
    mode = image.mode
    if mode in {"I;16", "I;16B", "I;16L", "I;16N"}:
        return array_to_rgb(np.asarray(image, dtype=np.uint16))
    if mode in {"I", "F"}:
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode == "I" and values.max(initial=0) > 255 else 255.0
        return array_to_rgb(np.clip(values / peak, 0.0, 1.0).astype(np.float32))
    if mode == "P":
        image = image.convert("RGBA")
    if image.mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Check a numpy image and convert it to float32 RGB in [0, 1], shape (H, W, 3)."""
    if not isinstance(array, np.ndarray):
        raise ImageError(f"Expected a numpy array, got {type(array).__name__}.")
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise ImageError(
            f"An image array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {array.shape}."
        )
    if array.dtype == np.bool_:
        values = array.astype(np.float32)
    elif array.dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        values = array.astype(np.float32) / 65535.0
    elif np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        if not np.all(np.isfinite(values)):
            raise ImageError("The image array contains NaN or infinite values.")
        if values.min(initial=0.0) < -1e-6 or values.max(initial=0.0) > 1.0 + 1e-6:
            raise ImageError(
                f"A float image must have values in [0, 1]; this one spans [{values.min():.3g}, "
                f"{values.max():.3g}]. Divide 0-255 images by 255 (or pass them as uint8)."
            )
        values = np.clip(values, 0.0, 1.0)
    else:
        raise ImageError(
            f"Unsupported image dtype {array.dtype}: use uint8 (0-255), uint16 (0-65535) or float in [0, 1]."
        )
    if values.shape[-1] == 4:  # composite over white
        alpha = values[..., 3:]
        values = values[..., :3] * alpha + (1.0 - alpha)
    return np.ascontiguousarray(values)


def _check_size(shape: tuple[int, ...]) -> None:
    height, width = shape
    if min(height, width) < MIN_SIZE:
        raise ImageError(
            f"The image is {width}x{height} pixels; DeepDream needs at least {MIN_SIZE} px a side."
        )


def resize_max(image: np.ndarray, max_size: int) -> np.ndarray:
    """Shrink an (H, W, 3) image so that its longer side is at most ``max_size``, keeping the aspect."""
    if max_size < MIN_SIZE:
        raise ImageError(f"max_size must be at least {MIN_SIZE}, got {max_size}.")
    height, width = image.shape[:2]
    scale = max_size / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    pil = Image.fromarray(to_uint8(image)).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(pil, dtype=np.float32) / 255.0


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Convert floats in [0, 1] to uint8, rounding and clipping."""
    return np.clip(np.rint(np.asarray(image, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def save_image(
    image: np.ndarray,
    path: str | os.PathLike,
    metadata: dict[str, str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save an (H, W, 3) image in [0, 1]; PNG files get ``metadata`` as text chunks.

    Refuses to replace an existing file unless ``overwrite=True``, so a dream never destroys its input;
    :func:`check_output_path` says why a path cannot be written.
    """
    path = check_output_path(path, overwrite)
    image = np.asarray(image)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    pil = Image.fromarray(to_uint8(image))
    if path.suffix.lower() == ".png":
        info = PngImagePlugin.PngInfo()
        for key, value in (metadata or {}).items():
            info.add_itxt(key, str(value))
        pil.save(path, pnginfo=info)
    else:
        pil.save(path)
    return path


def check_output_path(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """``path`` as a :class:`~pathlib.Path` if an image can be saved there, else a one-line error.

    The name must end in an image format's extension; it must not be a folder, nor an existing file
    unless ``overwrite`` (:class:`FileExistsError`); its folder must exist and take a new file, which
    is tried by creating and removing an empty one (permissions alone do not tell: root may write
    anywhere the permissions say, but not into ``/proc``). Nothing else is changed.
    """
    path = Path(path)
    if path.is_dir():
        raise ImageError(f"{path} is a folder; give the name of an image file, e.g. {path / 'dream.png'}.")
    if path.suffix.lower() not in Image.registered_extensions():
        raise ImageError(f"Cannot tell the image format of {path}: end its name with .png.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (or --overwrite) to replace it.")
    folder = path.parent
    if not folder.exists():
        raise ImageError(f"The folder {folder} does not exist; create it first.")
    if not folder.is_dir():
        raise ImageError(f"{folder} is a file, not a folder, so {path} cannot be written.")
    if path.exists() and not os.access(path, os.W_OK):
        raise ImageError(f"{path} cannot be written: the file is read-only.")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".deepdream-write-test-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ImageError(
            f"{path} cannot be written: the folder {folder} takes no new files ({reason})."
        ) from error
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """Read the text chunks of a PNG file (how a saved dream was made)."""
    with Image.open(path) as image:
        image.load()
        return dict(getattr(image, "text", {}))
