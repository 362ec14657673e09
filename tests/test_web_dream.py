"""The book's in-browser dream (book/dream_in_browser.md, TensorFlow.js) against the library.

Run after building the book (it needs book/_vendor from book/vendor.sh: TensorFlow.js and the weights):

    .venv/bin/python -m pytest -m book tests/test_web_dream.py

The page is served from 127.0.0.1 and opened in headless Chromium (test_book.py's fixture) with the
WebAssembly backend forced (``?backend=wasm``; WebGL in headless Chromium here is software-only). For one
picture and no jitter, the page's std-normalised gradient is compared with the library's at two layers
and one channel, and a 10-step dream at 96 px must raise the objective as the library's does. A dream
started from the keyboard is screenshotted to book/_build/screenshots/dream_in_browser__dream.png.
Lessons 01, 03 and 04 embed a panel each: it starts at the lesson's layer and dreams in the lesson's page
(screenshots: book/_build/screenshots/<lesson>__panel.png).
Skips when the book or Chromium is missing, except in CI (the CI variable set), where it fails.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib.engine import DreamConfig, dream, objective_and_gradient
from deepdream_lib.images import sample
from deepdream_lib.models import Backbone
from deepdream_lib.normalize import normalize_std
from deepdream_lib.objectives import channel, layer
from test_book import CHROMEDRIVER, CHROMIUM, HTML, ROOT, SCREENSHOTS, _wait, site  # noqa: F401 (fixture)

pytestmark = pytest.mark.book

PAGE = "dream_in_browser.html"
WEB = HTML / "_static" / "web"
SIZE = 96  # px, longest side: chelsea is 96 x 64
# The objectives compared: two layers (the two the page offers) and one channel.
OBJECTIVES = [("block3_conv3", None), ("block4_conv3", None), ("block4_conv3", 7)]
MIN_CORRELATION = 0.9999
# float32 arithmetic in another order (WASM vs oneDNN), on top of the weights' rounding: measured <= 1.5e-5.
ARITHMETIC = 1e-3
# A 10-step dream: the page's objective after each step within this fraction of the library's.
DREAM_TOLERANCE = 0.01

_spec = importlib.util.spec_from_file_location("export_web_weights", ROOT / "tools" / "export_web_weights.py")
export_web_weights = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(export_web_weights)


@pytest.fixture(scope="module")
def page(request):
    """The dream page in the browser, its engine loaded with the WASM backend and both layers' weights."""
    ci = bool(os.environ.get("CI"))
    missing = None
    if not (CHROMIUM and CHROMEDRIVER):
        missing = "Chromium is not installed: apt-get install -y chromium chromium-driver"
    elif not (HTML / PAGE).exists():
        missing = f"{PAGE} is not built: bash book/vendor.sh, then jupyter-book build book/"
    elif not (WEB / "weights.json").exists():
        missing = "the page's weights are not in the build: run bash book/vendor.sh before the build"
    if missing:
        (pytest.fail if ci else pytest.skip)(missing)
    driver, base = request.getfixturevalue("site")
    driver.get(base + PAGE + "?backend=wasm")
    assert _wait(driver, "return !!window.deepdreamWeb", 60), "the dream panel did not start"
    driver.set_script_timeout(300)
    loaded = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const {engine} = window.deepdreamWeb;
        engine.loadTf("wasm")
          .then((tf) => engine.loadModel(tf, "block4_conv3"))
          .then((model) => { window.testModel = model; done(model.tf.getBackend()); })
          .catch((e) => done("error: " + e.message));
        """
    )
    assert loaded == "wasm", f"TensorFlow.js did not start with the WASM backend: {loaded}"
    return driver


def _page_gradient(driver, image: np.ndarray, objective: tuple[str, int | None]) -> np.ndarray:
    values = driver.execute_async_script(
        """
        const [image, layer, channel, done] = arguments;
        const {engine} = window.deepdreamWeb;
        const g = engine.normalizedGradient(window.testModel, {layer, channel}, image);
        g.data().then((v) => { g.dispose(); done(Array.from(v)); });
        """,
        image.tolist(), objective[0], objective[1],
    )
    return np.asarray(values, np.float64).reshape(image.shape)


def _library_gradient(backbone: Backbone, image: np.ndarray, objective: tuple[str, int | None]) -> np.ndarray:
    name, index = objective
    target = layer(name) if index is None else channel(name, index)
    _, gradient = objective_and_gradient(backbone, target, tf.constant(image[None]))
    return normalize_std(gradient).numpy()[0].astype(np.float64)


@pytest.fixture(scope="module")
def rounded(vgg) -> Backbone:
    """vgg16_hed with its kernels rounded as the page stores them (float24): the weights' own error."""
    model = keras.models.clone_model(vgg.model)
    weights = []
    for value in vgg.model.get_weights():
        if value.ndim == 4:
            value = export_web_weights.from_float24(export_web_weights.float24(value)).reshape(value.shape)
        weights.append(value)
    model.set_weights(weights)
    return Backbone(vgg.spec, model)


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda o: f"{o[0]}-{'layer' if o[1] is None else o[1]}")
def test_the_pages_gradient_is_the_librarys(page, vgg, rounded, objective):
    """Same picture, no jitter: the page's normalised gradient is the library's, up to the weights' rounding.

    The bound on the largest difference is measured here, not assumed: it is how far the library itself
    moves when its kernels are rounded to float24 as the page's are, plus float32 arithmetic done in
    another order (``ARITHMETIC``). Float16 weights moved it by up to 1.06 (peak ~7.5) and fail this test.
    """
    image = sample("chelsea", max_size=SIZE)
    ours = _page_gradient(page, image, objective)
    library = _library_gradient(vgg, image, objective)
    same_weights = _library_gradient(rounded, image, objective)
    correlation = np.corrcoef(ours.ravel(), library.ravel())[0, 1]
    difference = np.abs(ours - library).max()
    rounding = np.abs(same_weights - library).max()
    own_weights = np.abs(ours - same_weights).max()
    print(f"{objective}: correlation 1 - {1 - correlation:.2e}, max difference {difference:.4f} "
          f"(rounded weights in the library: {rounding:.4f}; vs them {own_weights:.2e}); "
          f"peak {np.abs(library).max():.2f}")
    assert correlation > MIN_CORRELATION, f"correlation {correlation:.6f} <= {MIN_CORRELATION}"
    assert difference <= rounding + ARITHMETIC, (
        f"max difference {difference:.4f} > {rounding:.4f} (the weights' rounding) + {ARITHMETIC}")
    assert own_weights <= ARITHMETIC, f"the page is {own_weights:.2e} from the library on its own weights"


def test_a_ten_step_dream_rises_as_the_librarys(page, vgg):
    """10 steps at 96 px, one octave, no jitter: the page's objective rises along the library's curve."""
    image = sample("chelsea", max_size=SIZE)
    config = DreamConfig(num_steps=10, num_octaves=1, jitter=0)
    history = page.execute_async_script(
        """
        const [image, config, done] = arguments;
        const {engine} = window.deepdreamWeb;
        const tf = window.testModel.tf;
        const batch = tf.tensor(image).expandDims(0);
        engine.dream(window.testModel, batch, {layer: "block4_conv3", channel: null}, config)
          .then((r) => { r.image.dispose(); batch.dispose(); done(r.history); })
          .catch((e) => done("error: " + e.message));
        """,
        image.tolist(), dataclasses.asdict(config),
    )
    assert isinstance(history, list), history
    expected = dream(image, "block4_conv3", vgg, config, progress=False).history
    page_gain, library_gain = history[-1] - history[0], expected[-1] - expected[0]
    print(f"objective: page {history[0]:.4f} -> {history[-1]:.4f}, "
          f"library {expected[0]:.4f} -> {expected[-1]:.4f}")
    assert len(history) == len(expected) == 10
    assert page_gain > 0, f"the page's dream did not raise the objective: {history}"
    np.testing.assert_allclose(history, expected, rtol=DREAM_TOLERANCE)
    assert abs(page_gain - library_gain) <= DREAM_TOLERANCE * library_gain * 3, (page_gain, library_gain)


def test_a_dream_started_from_the_keyboard_shows_and_copies_as_python(page, tmp_path, monkeypatch):
    """The panel: Dream pressed with Enter, pictures updated as it runs, a dreamed picture at the end, and
    "copy as Python" a ``dd.dream`` call with the panel's settings (DreamConfig's names) that runs."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page.execute_script(
        """
        const root = document.querySelector('.deepdream-web');
        const set = (name, value) => { const c = root.querySelector(`[name=${name}]`); c.value = value;
          for (const kind of ['input', 'change']) c.dispatchEvent(new Event(kind, {bubbles: true})); };
        set('size', '96'); set('num_steps', '8'); set('num_octaves', '2');
        set('step_size', String(Math.log10(0.02)));  // the slider keeps the widget's steps: 0.0199
        """
    )
    step_size = float(page.execute_script(
        "return document.querySelector('.deepdream-web [name=step_size]').nextElementSibling.textContent"))
    button = page.find_element(By.CSS_SELECTOR, ".deepdream-web .dd-dream")
    button.send_keys(Keys.ENTER)
    finished = _wait(page, "return document.querySelector('.deepdream-web').dataset.done === '1'", 240)
    root = page.find_element(By.CSS_SELECTOR, ".deepdream-web")
    assert finished, f"the dream did not finish: {root.get_attribute('data-error')}"
    assert root.get_attribute("data-backend") == "wasm"
    assert int(root.get_attribute("data-updates")) >= 3, "the picture was not updated while it dreamed"
    change = page.execute_script(
        """
        const [a, b] = ['.dd-original', '.dd-picture'].map((s) => document.querySelector(s));
        const pixels = (c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const [p, q] = [pixels(a), pixels(b)];
        let sum = 0; for (let i = 0; i < p.length; i++) sum += Math.abs(p[i] - q[i]);
        return sum / p.length;
        """
    )
    assert change > 2.0, f"the dream is hardly different from the original (mean change {change:.2f} / 255)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "dream_in_browser__dream.png").write_bytes(root.screenshot_as_png)

    code = page.execute_script("return window.deepdreamWeb.panels[0].python.textContent")
    call = next(node for node in ast.walk(ast.parse(code))
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "dream")
    settings = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    config = DreamConfig(**settings)  # every name is DreamConfig's, every value valid
    assert (config.num_steps, config.num_octaves, config.step_size) == (8, 2, step_size), settings
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "copied from the page", "exec"), {})  # noqa: S102 (the page's own code, as a reader runs it)
    assert (tmp_path / "dream.png").is_file(), "the copied Python did not save its dream"


# The lessons whose pages embed a panel, and the layer (and channel) each starts with.
LESSON_PANELS = {
    "01_what_does_a_network_see": ("block3_conv3", None),
    "03_the_deepdream_loop": ("block3_conv3", None),
    "04_layers_channels_neurons": ("block4_conv3", 7),
}


@pytest.mark.parametrize("lesson", sorted(LESSON_PANELS))
def test_a_lessons_page_embeds_a_panel_that_dreams(page, request, lesson):
    """Lessons 01, 03 and 04 embed one panel at their layer, which dreams in the lesson's page (its
    script, styles and weights found from notebooks/) and replaces the notebook's fallback text."""
    layer, channel = LESSON_PANELS[lesson]
    base = request.getfixturevalue("site")[1]
    page.get(base + f"notebooks/{lesson}.html?backend=wasm")
    assert _wait(page, "return !!window.deepdreamWeb", 60), f"{lesson}: the page's panel did not start"
    panels = page.execute_script(
        "return window.deepdreamWeb.panels.map((p) => [p.controls.layer.value, p.controls.channel.value,"
        " p.root.querySelector('.dd-missing') === null,"
        " getComputedStyle(p.root.querySelector('.dd-controls')).display])"
    )
    # one panel, at the lesson's layer and channel, the fallback text replaced, dream.css applied
    assert panels == [[layer, str(channel if channel is not None else -1), True, "grid"]], panels
    page.execute_script(
        """
        const root = document.querySelector('.deepdream-web');
        const set = (name, value) => { const c = root.querySelector(`[name=${name}]`); c.value = value;
          for (const kind of ['input', 'change']) c.dispatchEvent(new Event(kind, {bubbles: true})); };
        set('size', '96'); set('num_steps', '2'); set('num_octaves', '1');
        root.querySelector('.dd-dream').click();
        """
    )
    finished = _wait(page, "return document.querySelector('.deepdream-web').dataset.done === '1'", 240)
    error = page.execute_script("return document.querySelector('.deepdream-web').dataset.error")
    assert finished, f"{lesson}: the panel's dream did not finish: {error}"
    root = page.find_element("css selector", ".deepdream-web")
    (SCREENSHOTS / f"{lesson}__panel.png").write_bytes(root.screenshot_as_png)


def test_without_webassembly_or_webgl_the_panel_says_so(page, request):
    """A browser with neither: the panel explains instead of failing, and the rest of the page is there.
    (Last in this file: it reloads the page, which forgets the model the tests above share.)"""
    hide = page.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "delete window.WebAssembly; HTMLCanvasElement.prototype.getContext = () => null;")})
    try:
        page.get(request.getfixturevalue("site")[1] + PAGE)  # the dream page, whichever page came last
        assert _wait(page, "return document.querySelector('.deepdream-web').dataset.missing === 'true'", 30)
        text = page.execute_script("return document.querySelector('.deepdream-web').textContent")
        headings = page.execute_script("return [...document.querySelectorAll('h2')].map((h) => h.innerText)")
    finally:
        page.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": hide["identifier"]})
    assert "neither WebAssembly nor WebGL" in text, text
    assert any("How fast" in heading for heading in headings), headings
