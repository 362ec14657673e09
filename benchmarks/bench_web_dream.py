"""Milliseconds per step of the book's in-browser dream (TensorFlow.js), per backend, layer and size.

    .venv/bin/python benchmarks/bench_web_dream.py [--build book/_build] [--webgl]

Serves the built book (it needs book/vendor.sh's book/_vendor: TensorFlow.js and the weights) and opens
book/dream_in_browser.html in headless Chromium, as tests/test_web_dream.py does. For each offered layer
and image size (chelsea, longest side 96 / 128 / 224 px) it times one step (jitter, std normalisation,
clip) after a warm-up step: the median of ``--repeats``. It also times the page's first picture: the
first step at the smallest of the default three octaves of the default size, from a cold start (the
weights loaded, nothing run yet). ``--webgl`` adds WebGL, which headless Chromium here runs on
SwiftShader (software): one step at 96 px.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_book import CHROMEDRIVER, CHROMIUM, FLAGS  # noqa: E402 (the book test's browser settings)

LAYERS = ("block3_conv3", "block4_conv3")
SIZES = (96, 128, 224)
TIMING = """
const [backend, layer, size, repeats, firstOnly, done] = arguments;
(async () => {
  const {engine, config} = window.deepdreamWeb;
  const tf = await engine.loadTf(backend);
  const model = await engine.loadModel(tf, layer);
  const image = new Image(); image.src = engine.WEB_URL + 'samples/chelsea.jpg'; await image.decode();
  const scale = size / Math.max(image.width, image.height);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(image.width * scale); canvas.height = Math.round(image.height * scale);
  canvas.getContext('2d').drawImage(image, 0, 0, canvas.width, canvas.height);
  let x = tf.tidy(() => tf.browser.fromPixels(canvas).toFloat().div(255).expandDims(0));
  const step = engine.makeStep(model, {layer, channel: null}, 'std', true);
  const time = async (images) => {
    const t = performance.now(); const out = step(images, 0.005, [3, -5]);
    await out.value.data(); await out.images.data(); const ms = performance.now() - t;
    out.value.dispose(); return [ms, out.images];
  };
  if (firstOnly) {  // the page's first picture: first step at the smallest octave, cold
    const d = config.dream_config;
    const [h, w] = engine.octaveSizes(canvas.height, canvas.width, d.num_octaves, d.octave_scale)[0];
    const small = tf.image.resizeBilinear(x, [h, w], false, true);
    const [ms, out] = await time(small); out.dispose(); small.dispose();
    done({ms: [ms], backend: tf.getBackend(), shape: [h, w]}); return;
  }
  const times = [];
  for (let i = 0; i <= repeats; i++) {
    const [ms, out] = await time(x); x.dispose(); x = out; if (i > 0) times.push(ms);
  }
  x.dispose(); engine.disposeModel(model);
  done({ms: times, backend: tf.getBackend(), shape: [canvas.height, canvas.width]});
})().catch((e) => done({error: e.message}));
"""


def _driver(webgl: bool, profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    flags = [flag for flag in FLAGS if not (webgl and flag == "--disable-gpu")]
    for flag in [*flags, f"--user-data-dir={profile}", *(["--enable-unsafe-swiftshader"] if webgl else [])]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(600)
    return driver


def measure(base: str, backend: str, cases: list[tuple[str, int, int, bool]]) -> list[dict]:
    """One fresh page per case (so each first step is cold); returns the timings."""
    profile = tempfile.mkdtemp(prefix="bench-web-")
    driver = _driver(backend == "webgl", profile)
    results = []
    try:
        for layer, size, repeats, first in cases:
            driver.get(base + f"dream_in_browser.html?backend={backend}")
            driver.execute_script("return 1")
            for _ in range(120):
                if driver.execute_script("return !!window.deepdreamWeb"):
                    break
                threading.Event().wait(0.5)
            result = driver.execute_async_script(TIMING, backend, layer, size, repeats, first)
            result.update(layer=layer, size=size, first=first)
            print(json.dumps(result), flush=True)
            results.append(result)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=ROOT / "book" / "_build")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--webgl", action="store_true", help="also WebGL (software here): one step at 96 px")
    args = parser.parse_args()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_args) -> None:
            pass

    html = args.build / "html"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=html))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"
    cases = [(layer, size, args.repeats if size < 224 else 3, False) for layer in LAYERS for size in SIZES]
    cases += [(layer, 128, 1, True) for layer in LAYERS]
    measure(base, "wasm", cases)
    if args.webgl:
        measure(base, "webgl", [(layer, 96, 1, False) for layer in LAYERS])
    server.shutdown()


if __name__ == "__main__":
    main()
