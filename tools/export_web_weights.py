"""Export what the book's in-browser dream needs into book/_vendor/web/ (gitignored, not committed).

    .venv/bin/python tools/export_web_weights.py            # book/vendor.sh runs it
    .venv/bin/python tools/export_web_weights.py --force    # redo even when up to date

Writes:
  weights.json      the manifest: every layer of vgg16_hed's trunk up to ``DEEPEST`` in order (conv, pool),
                    the file, shape and byte size of each convolution's weights, the preprocessing
  <conv>.bin        one shard per convolution: the kernel (H, W, in, out) as "float24", then the bias as
                    float32, little-endian
  config.json       the page's controls: DreamConfig's defaults and the ranges of the lessons' widgets
                    (deepdream_lib.widgets.dream_controls), so the page and the library share one source
  samples/*.jpg     the sample pictures the page offers (scikit-image's, at most ``SAMPLE_SIZE`` px)
  STAMP             what the export was made from; a run with the same STAMP does nothing

"float24" is float32 with its lowest mantissa byte rounded off (3 bytes a weight, 16 significant bits).
Measured on chelsea at 96 px, the library's std-normalised gradient with weights rounded this way stays
within 0.03 of the float32 one (peak ~7.5; correlation 1 - 2e-7); float16 weights (2 bytes) moved it by
up to 1.06 (correlation 1 - 4e-4) and int16 with a scale per output channel by 0.74 (1 - 2e-4), too far
for a page that claims to be the library's step. The page decodes it with a shift per weight.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "_vendor" / "web"
MODEL = "vgg16_hed"
LAYERS = ("block3_conv3", "block4_conv3")  # the layers the page offers (ms per step: benchmarks/README.md)
DEEPEST = LAYERS[-1]
SAMPLES = ("chelsea", "coffee", "astronaut", "hubble_deep_field")
SAMPLE_SIZE = 224  # the largest image size the page offers
SIZES = (96, 128, 160, 224)  # image sizes (longest side, px) the page offers
# The page's defaults: its first picture (one step at the smallest of 3 octaves, 65 x 43 px) came 0.5 s after
# the weights at block3_conv3 on 2 busy cores (load ~16), 1.9 s at block4_conv3 (the library's default).
PAGE_SIZE = 128
PAGE_LAYER = "block3_conv3"
# What the export depends on: a change to any of these files redoes it.
SOURCES = ("tools/export_web_weights.py", "deepdream_lib/engine.py", "deepdream_lib/widgets.py",
           "deepdream_lib/models.py", "deepdream_lib/normalize.py")


def float24(values: np.ndarray) -> bytes:
    """float32 values as their top 3 bytes, rounded to nearest (little-endian: bytes 1-3 of each)."""
    bits = np.ascontiguousarray(values, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = (np.minimum((bits + 0x80) >> 8, 0xFFFFFF)).astype("<u4")
    return rounded.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def from_float24(data: bytes) -> np.ndarray:
    """Inverse of :func:`float24` (what the page does): the float32 values the page computes with."""
    packed = np.frombuffer(data, np.uint8).reshape(-1, 3)
    bits = np.zeros((len(packed), 4), np.uint8)
    bits[:, 1:] = packed
    return bits.reshape(-1).view("<f4").copy()


def stamp() -> str:
    """A digest of the files the export depends on and the library version."""
    from deepdream_lib import __version__

    digest = hashlib.sha256(__version__.encode())
    for name in SOURCES:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def trunk_layers(model) -> list:
    """The Keras layers of the trunk, input excluded, up to and including ``DEEPEST``."""
    layers = []
    for layer in model.layers[1:]:
        layers.append(layer)
        if layer.name == DEEPEST:
            return layers
    raise SystemExit(f"{DEEPEST} is not a layer of {MODEL}")


def export_weights(backbone, out: Path) -> dict:
    """Write one shard per convolution and return the manifest."""
    from deepdream_lib.models import CAFFE_MEAN_BGR

    entries = []
    for layer in trunk_layers(backbone.model):
        if not layer.weights:
            entries.append({"name": layer.name, "kind": "pool", "size": 2, "stride": 2})
            continue
        kernel, bias = (np.asarray(weight, np.float32) for weight in layer.get_weights())
        data = float24(kernel) + bias.astype("<f4").tobytes()
        (out / f"{layer.name}.bin").write_bytes(data)
        entries.append({"name": layer.name, "kind": "conv", "file": f"{layer.name}.bin",
                        "kernel_shape": list(kernel.shape), "bytes": len(data)})
    return {
        "model": MODEL,
        "description": backbone.spec.description,
        "format": "float24",
        "preprocessing": {"kind": backbone.spec.preprocessing, "mean_bgr": list(CAFFE_MEAN_BGR),
                          "scale": 255},
        "layers": entries,
        "total_bytes": sum(entry.get("bytes", 0) for entry in entries),
    }


def control_ranges(backbone) -> dict:
    """The lessons' widgets (their kind, range, step and value), read from the widgets themselves."""
    from deepdream_lib.engine import DreamConfig
    from deepdream_lib.widgets import dream_controls

    ranges = {}
    for name, control in dream_controls(backbone, DreamConfig()).items():
        kind = type(control).__name__
        if kind == "Dropdown":
            ranges[name] = {"kind": "choice", "options": list(control.options), "value": control.value}
        elif kind == "FloatLogSlider":
            low, high = (float(f"{control.base**exponent:.10g}") for exponent in (control.min, control.max))
            ranges[name] = {"kind": "log", "min": low, "max": high, "step": control.step,
                            "value": control.value}
        else:
            ranges[name] = {"kind": "int" if kind == "IntSlider" else "float", "min": control.min,
                            "max": control.max, "step": control.step, "value": control.value}
    return ranges


def page_config(backbone, manifest: dict) -> dict:
    """config.json: one source of truth for the page's widgets (DreamConfig's defaults, widgets' ranges)."""
    from deepdream_lib import __version__
    from deepdream_lib.engine import MIN_OCTAVE_SIZE, OCTAVE_MODES, DreamConfig
    from deepdream_lib.images import SAMPLES as SAMPLE_TITLES
    from deepdream_lib.normalize import EPSILON
    from deepdream_lib.widgets import PREVIEW_EVERY

    convs = [entry for entry in manifest["layers"] if entry["kind"] == "conv"]
    channels = {entry["name"]: entry["kernel_shape"][-1] for entry in convs}
    controls = control_ranges(backbone)
    controls["layer"] = {"kind": "choice", "options": list(LAYERS), "value": PAGE_LAYER}
    return {
        "library_version": __version__,
        "model": MODEL,
        "dream_config": dataclasses.asdict(DreamConfig()),
        "controls": controls,
        "channels": {name: channels[name] for name in LAYERS},
        "octave_modes": list(OCTAVE_MODES),
        "min_octave_size": MIN_OCTAVE_SIZE,
        "epsilon": EPSILON,
        "preview_every": PREVIEW_EVERY,
        "sizes": list(SIZES),
        "size": PAGE_SIZE,
        "samples": [{"name": name, "title": SAMPLE_TITLES[name], "file": f"samples/{name}.jpg"}
                    for name in SAMPLES],
    }


def export_samples(out: Path) -> None:
    from PIL import Image

    from deepdream_lib.images import sample, to_uint8

    (out / "samples").mkdir(exist_ok=True)
    for name in SAMPLES:
        Image.fromarray(to_uint8(sample(name, max_size=SAMPLE_SIZE))).save(
            out / "samples" / f"{name}.jpg", quality=92)


def export(out: Path = OUT, force: bool = False) -> bool:
    """Export into ``out`` unless its STAMP is current; return whether anything was written."""
    current = stamp()
    if not force and (out / "STAMP").exists() and (out / "STAMP").read_text() == current:
        return False
    from deepdream_lib.models import load_model

    backbone = load_model(MODEL)
    out.mkdir(parents=True, exist_ok=True)
    manifest = export_weights(backbone, out)
    (out / "weights.json").write_text(json.dumps(manifest, indent=1))
    (out / "config.json").write_text(json.dumps(page_config(backbone, manifest), indent=1))
    export_samples(out)
    (out / "STAMP").write_text(current)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write (default: book/_vendor/web)")
    parser.add_argument("--force", action="store_true", help="export even when the STAMP is current")
    args = parser.parse_args(argv)
    if export(args.out, args.force):
        manifest = json.loads((args.out / "weights.json").read_text())
        print(f"{args.out}: {MODEL} to {DEEPEST}, {manifest['total_bytes'] / 1e6:.1f} MB of float24 weights")
    else:
        print(f"{args.out} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
