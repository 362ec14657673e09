"""ipywidgets for the lessons' experiments: change a knob, press the button, see the result.

:func:`panel` is the one building block: controls + a button + an output area, and a ``render``
function that draws into the output. It renders once when built, so an executed notebook (and the
book) shows a result, not an empty box. :func:`dream_panel` is the full DeepDream control panel.

A dream in a panel shows itself as it runs (:class:`DreamView`): the picture is updated after the first
step, every ``PREVIEW_EVERY`` steps and at the end of each octave, and a Stop button ends the dream and
keeps the picture so far. A kernel handles one message at a time, so a Stop click is only seen if the
dream does not block the kernel: in a kernel, a dream started by a click runs in a worker thread, which
only sets widget values (ipywidgets sends those from any thread; TensorFlow releases the interpreter
lock while it computes, so the kernel stays responsive). Slices on the kernel's event loop were the
other way; they depend on how each kernel (Jupyter's, Colab's) schedules its handlers, a thread does not.
The dream a panel runs when it is built runs in the calling cell, so an executed notebook keeps its result.
"""

from __future__ import annotations

import html
import io
import threading
import traceback
from collections.abc import Callable, Sequence

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython import get_ipython
from IPython.display import display
from PIL import Image

from deepdream_lib.engine import DreamConfig, DreamResult, StopDream, dream
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.images import resize_max, to_uint8
from deepdream_lib.models import Backbone, as_backbone
from deepdream_lib.normalize import METHODS

PREVIEW_EVERY = 2  # steps between two pictures of a running dream (and one after the first step)
#: dream_panel's settings unless it is given others: 7 steps of 0.007 per octave instead of 10 of 0.005, the
#: same total change per pixel in 30 % less time, so a 128 px preview is done in about 1.3 s on 2 idle cores
#: (benchmarks/README.md: the pictures look the same at preview size)
PANEL_CONFIG = DreamConfig(num_steps=7, step_size=0.007, num_octaves=2)
PostStep = Callable[[tf.Tensor, int], tf.Tensor]


def panel(
    render: Callable[..., object], button: str = "Run", auto_run: bool = True, **controls: w.ValueWidget
) -> w.VBox:
    """Controls, a button and an output; pressing the button calls ``render(**values)`` into the output.

    Whatever ``render`` returns is displayed (a matplotlib figure, an image, text). Figures are
    closed after display so they do not pile up. A panel that does not run when built says, in its
    output, which button to press, so a saved notebook (and the book) never shows an empty box.
    """
    run = w.Button(description=button, button_style="primary", icon="play")
    output = w.Output()

    def on_click(_=None) -> None:
        run.disabled = True
        output.outputs = ()  # the hint, if any
        output.clear_output(wait=True)
        with output:
            try:
                shown = render(**{name: control.value for name, control in controls.items()})
                if shown is not None:
                    display(shown)
                    if isinstance(shown, plt.Figure):
                        plt.close(shown)
            finally:
                run.disabled = False

    run.on_click(on_click)
    box = w.VBox([w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap")), run, output])
    if auto_run:
        on_click()
    else:
        output.append_stdout(f"Press '{button}' to run it with the settings above.\n")
    return box


def slider(
    value: float,
    low: float,
    high: float,
    step: float,
    description: str,
    integer: bool = False,
    log: bool = False,
) -> w.ValueWidget:
    """A labelled slider (integer, float or log-scale float)."""
    style = {"description_width": "initial"}
    if integer:
        return w.IntSlider(value=value, min=low, max=high, step=step, description=description, style=style)
    if log:
        return w.FloatLogSlider(
            value=value,
            base=10,
            min=np.log10(low),
            max=np.log10(high),
            step=step,
            description=description,
            style=style,
            readout_format=".4f",
        )
    return w.FloatSlider(value=value, min=low, max=high, step=step, description=description, style=style)


def dropdown(options: Sequence, value: object, description: str) -> w.Dropdown:
    """A labelled dropdown."""
    return w.Dropdown(
        options=list(options), value=value, description=description, style={"description_width": "initial"}
    )


def dream_controls(backbone: Backbone, config: DreamConfig) -> dict[str, w.ValueWidget]:
    """One control per dream knob, named as in :class:`DreamConfig` (plus ``layer``)."""
    return {
        "layer": dropdown(backbone.spec.layers, backbone.spec.default_layer, "layer"),
        "num_steps": slider(config.num_steps, 1, 100, 1, "num_steps", integer=True),
        "step_size": slider(config.step_size, 0.0005, 0.05, 0.1, "step_size", log=True),
        "num_octaves": slider(config.num_octaves, 1, 5, 1, "num_octaves", integer=True),
        "octave_scale": slider(config.octave_scale, 1.1, 2.0, 0.05, "octave_scale"),
        "jitter": slider(config.jitter, 0, 64, 4, "jitter", integer=True),
        "normalize": dropdown(METHODS, config.normalize, "normalize"),
    }


def png_bytes(image: np.ndarray) -> bytes:
    """An (H, W, 3) image in [0, 1] as PNG bytes, for an ``ipywidgets.Image``."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def kernel_running() -> bool:
    """Whether this code runs in a Jupyter kernel (Jupyter, Colab): only there can a click arrive while
    a dream runs, so only there does a dream started by a click need a thread of its own."""
    return getattr(get_ipython(), "kernel", None) is not None


class DreamView(w.VBox):
    """A dream as it runs: the original and the picture side by side, a caption, a progress bar and Stop.

    :meth:`start` dreams into it. ``result`` is the last dream's :class:`~deepdream_lib.engine.DreamResult`
    (also after Stop: ``interrupted=True``, the picture so far), so ``view.result.save("dream.png")``
    keeps it with its recipe; ``updates`` counts the pictures shown while the last dream ran.
    """

    def __init__(self, original: np.ndarray, width: int = 320):
        size = w.Layout(width=f"{width}px", height="auto")
        self.original = w.Image(value=png_bytes(original), format="png", layout=size)
        self.picture = w.Image(value=png_bytes(original), format="png", layout=size)
        self.caption = w.HTML()
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width=f"{width}px"))
        self.stop_button = w.Button(description="stop", icon="stop", disabled=True,
                                    tooltip="stop the dream and keep the picture so far")
        self.stop_button.on_click(lambda _button: self.stop())
        self.result: DreamResult | None = None
        self.updates = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        pictures = w.HBox([self._titled("original", self.original), self._titled("dream", self.picture)],
                          layout=w.Layout(flex_flow="row wrap"))
        super().__init__([pictures, w.HBox([self.progress, self.stop_button]), self.caption])

    def __repr__(self) -> str:  # what a plain Python console prints instead of the widget (no PNG bytes)
        return f"DreamView({self.caption.value!r})"

    @staticmethod
    def _titled(title: str, image: w.Image) -> w.VBox:
        return w.VBox([w.HTML(f"<b>{title}</b>"), image])

    def stop(self) -> None:
        """Ask the running dream to stop after its current step; it keeps the picture so far."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a dream running in the background to end."""
        if self._thread is not None:
            self._thread.join(timeout)

    def start(self, run: Callable[[PostStep], DreamResult], steps_per_octave: int, num_octaves: int,
              title: str, background: bool = False) -> None:
        """Dream ``run(post_step)`` into the view, in a worker thread if ``background``.

        ``run`` calls :func:`~deepdream_lib.engine.dream` with the ``post_step`` it is given, which
        shows the picture and raises :class:`~deepdream_lib.engine.StopDream` after Stop. A dream still
        running in this view is stopped first, so a new click (or a moved slider) replaces it.
        """
        self.stop()
        previous, stop = self._thread, threading.Event()
        self._stop = stop

        def work() -> None:
            if previous is not None:
                previous.join()
            self._dream(run, stop, steps_per_octave, num_octaves, title, background)

        if not background:
            self._thread = None
            work()
            return
        self._thread = threading.Thread(target=work, name="deepdream-panel", daemon=True)
        self._thread.start()

    def _dream(self, run: Callable[[PostStep], DreamResult], stop: threading.Event, steps_per_octave: int,
               num_octaves: int, title: str, background: bool) -> None:
        total = steps_per_octave * num_octaves
        self.updates = 0
        self.progress.value, self.progress.max = 0, total
        self.caption.value = f"{html.escape(title)}: dreaming..."
        self.stop_button.disabled = False
        try:
            result = run(self._post_step(stop, steps_per_octave, num_octaves, title))
        except Exception as error:  # shown in the view: a click's thread has no cell to raise into
            text = str(error) if isinstance(error, DeepDreamError) else traceback.format_exc()
            self.caption.value = f'<pre style="color: #b00">{html.escape(text)}</pre>'
            if not background:
                raise
            return
        finally:
            self.stop_button.disabled = True
        self.result = result
        self.picture.value = png_bytes(result.image)
        done = self.progress.value
        stopped = f": stopped after {done} of {total} steps, the picture so far" if result.interrupted else ""
        self.caption.value = f"{html.escape(title)}, {result.seconds:.1f} s{stopped}"

    def _post_step(
        self, stop: threading.Event, steps_per_octave: int, num_octaves: int, title: str
    ) -> PostStep:
        total = steps_per_octave * num_octaves

        def show_and_check(images: tf.Tensor, index: int) -> tf.Tensor:
            done = index + 1
            self.progress.value = done  # steps in the picture, also when it stops here
            if stop.is_set():
                raise StopDream
            if done == 1 or done % PREVIEW_EVERY == 0 or done % steps_per_octave == 0:
                self.picture.value = png_bytes(images[0].numpy())
                self.updates += 1
                octave = index // steps_per_octave + 1
                self.caption.value = (f"{html.escape(title)}: step {done} of {total} "
                                      f"(octave {octave} of {num_octaves})")
            return images

        return show_and_check


class DreamPanel(w.VBox):
    """What :func:`dream_panel` returns: the panel, with its two :class:`DreamView` in ``views``
    (``"preview"`` and ``"full"``); ``panel.views["full"].result.save("dream.png")`` keeps a dream."""

    def __init__(self, children: Sequence[w.Widget], views: dict[str, DreamView]):
        super().__init__(list(children))
        self.views = views


def dream_panel(
    image: np.ndarray,
    model: Backbone | str = "vgg16_hed",
    preview_size: int = 128,
    full_size: int = 512,
    config: DreamConfig | None = None,
    live: bool = False,
    background: bool | None = None,
) -> DreamPanel:
    """The full DeepDream control panel: a fast low-resolution preview, and a full-size render.

    The preview button dreams a ``preview_size`` copy; "render full size" dreams at ``full_size``. Both
    show the picture as it dreams, with a progress bar and a Stop button that keeps the picture so far.
    With ``live``, the preview also re-renders by itself whenever a control is released at a new value
    (a preview still running is stopped). ``background`` runs the dreams that a click starts in a worker
    thread, so that Stop is seen while they run; by default it does so in a Jupyter kernel.
    """
    backbone = as_backbone(model)
    config = config or PANEL_CONFIG
    controls = dream_controls(backbone, config)
    background = kernel_running() if background is None else background
    views: dict[str, DreamView] = {}
    building = [True]  # the preview run while the panel is built runs in its cell, as the notebook runs

    def render(name: str, size: int, width: int) -> Callable[..., None]:
        small = resize_max(image, size)
        view = views[name] = DreamView(small, width)

        def draw(layer: str, **settings) -> None:
            display(view)

            def run(post_step: PostStep) -> DreamResult:
                return dream(small, layer, backbone, config, progress=False, post_step=post_step, **settings)

            in_thread = background and not building[0]
            view.start(run, settings["num_steps"], settings["num_octaves"], layer, in_thread)

        return draw

    preview = panel(render("preview", preview_size, 320), button="preview", **controls)
    full = panel(render("full", full_size, 480), button="render full size", auto_run=False, **controls)
    if live:
        preview_button = preview.children[1]
        for control in controls.values():
            if hasattr(control, "continuous_update"):
                control.continuous_update = False  # one preview when the slider is released, not dozens
            control.observe(lambda _change: preview_button.click(), names="value")
    building[0] = False
    return DreamPanel([preview, full.children[1], full.children[2]], views)
