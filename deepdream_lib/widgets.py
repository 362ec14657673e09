"""ipywidgets for the lessons' experiments: change a knob, press the button, see the result.

:func:`panel` is the one building block: controls + a button + an output area, and a ``render``
function that draws into the output. It renders once when built, so an executed notebook (and the
book) shows a result, not an empty box. :func:`dream_panel` is the full DeepDream control panel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from deepdream_lib.engine import DreamConfig, dream
from deepdream_lib.images import resize_max
from deepdream_lib.models import Backbone, as_backbone
from deepdream_lib.normalize import METHODS
from deepdream_lib.viz import compare


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


def dream_panel(
    image: np.ndarray,
    model: Backbone | str = "vgg16_hed",
    preview_size: int = 128,
    full_size: int = 512,
    config: DreamConfig | None = None,
    live: bool = False,
) -> w.VBox:
    """The full DeepDream control panel: a fast low-resolution preview, and a full-size render.

    The preview button dreams a ``preview_size`` copy; "render full size" dreams at ``full_size`` with
    a progress bar (Ctrl-C / interrupt the kernel to stop it and keep the dream so far). With ``live``,
    the preview also re-renders by itself whenever a control is released at a new value.
    """
    backbone = as_backbone(model)
    config = config or DreamConfig(num_steps=10, num_octaves=2)
    controls = dream_controls(backbone, config)

    def render(size: int, progress: bool) -> Callable[..., object]:
        def draw(layer: str, **settings) -> plt.Figure:
            small = resize_max(image, size)
            result = dream(small, layer, backbone, config, progress=progress, **settings)
            return compare(small, result.image, ("original", f"{layer}, {result.seconds:.1f} s"))

        return draw

    preview = panel(render(preview_size, False), button="preview", **controls)
    full = panel(render(full_size, True), button="render full size", auto_run=False, **controls)
    if live:
        preview_button = preview.children[1]
        for control in controls.values():
            if hasattr(control, "continuous_update"):
                control.continuous_update = False  # one preview when the slider is released, not dozens
            control.observe(lambda _change: preview_button.click(), names="value")
    return w.VBox([preview, full.children[1], full.children[2]])
