"""How a lesson shows and checks its story: one readable line per claim, numbers for the prose, and
comparison figures that measure how different their own panels are.

``claim`` replaces rows of ``assert``: it prints ``✓ jitter weakens the 4-px grid: 3.5 → 1.7`` and, when
the claim does not hold, fails the cell with a message that says what was expected. ``comparison`` draws
dreams side by side, zoomed into the same crop, and prints how far apart the shown panels are, so a
figure whose panels look alike is caught (``tests/test_book.py`` reads that line in the executed book).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from deepdream_lib.errors import DeepDreamError
from deepdream_lib.mode import chosen_model

PASSED, REPORTED = "✓", "·"
NOT_REPRODUCED = "not reproduced at this budget"  # what a ``report=True`` claim says when it does not hold
NEAR_IDENTICAL = 0.02  # mean |Δ| per pixel (images in [0, 1]) below which two panels look alike
DIFFERENCE_LINE = "panels differ by {difference:.3f} (mean |Δ| per pixel of the shown crops; {pair})"


class ClaimFailed(AssertionError):
    """A claim of a lesson did not hold in this run; the message says what was measured and expected."""


def claim(
    statement: str,
    holds: bool,
    measured: str = "",
    *,
    expected: str = "",
    learned_by: str | Sequence[str] | None = None,
    report: bool = False,
) -> None:
    """Check one claim and print it as one line: ``✓ statement: measured``.

    When ``holds`` is false the cell fails with :class:`ClaimFailed`, naming what was measured and what
    was ``expected``. A claim about what a particular network *learned* names it in ``learned_by``
    (a name or several): when the lesson chose another network (its ``MODEL = dd.lesson_model(...)``,
    or ``DEEPDREAM_MODEL``), the line is reported, not checked, since the claim was never made for it.
    With ``report=True`` (a finding whose effect may be too small at a small budget, such as fast
    mode), a claim that does not hold prints ``· statement: measured (not reproduced at this budget;
    expected ...)`` instead of failing. Returns nothing, so a claim that ends a cell prints its line and
    no ``True`` after it.
    """
    detail = f": {measured}" if measured else ""
    networks = (learned_by,) if isinstance(learned_by, str) else tuple(learned_by or ())
    current = chosen_model()
    if networks and current is not None and current not in networks:
        verdict = "holds" if holds else "does not hold"
        print(f"{REPORTED} {statement}{detail} ({verdict} here; measured on {', '.join(networks)}, "
              f"so not checked on {current})")
        return
    if not holds and report:
        wanted = f"; expected {expected}" if expected else ""
        print(f"{REPORTED} {statement}{detail} ({NOT_REPRODUCED}{wanted})")
        return
    if not holds:
        wanted = f"; expected {expected}" if expected else ""
        raise ClaimFailed(f"✗ {statement}{detail}{wanted}")
    print(f"{PASSED} {statement}{detail}")


class _Text(str):
    """A string that MyST-NB's glue shows as itself (a plain ``str`` would show with quotes)."""

    def __repr__(self) -> str:
        return str(self)


def glue(name: str, value: object, fmt: str = "{}") -> str:
    """Hand a number of this run to the book's prose and return it formatted (``fmt.format(value)``).

    In the book, Markdown writes ``{glue:text}`name``` where the number belongs (MyST-NB). In Jupyter and
    Colab, where that role is not rendered, the same number is in the cell's printed line: write the
    sentence so it reads with either ("the ratio falls to {glue:text}`grid_after`, printed above").
    """
    text = fmt.format(value)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # plain Jupyter or Colab: nothing to hand over
        return text
    myst_glue(name, _Text(text), display=False)
    return text


def glue_figure(name: str, figure: Figure) -> None:
    """Hand a figure of this run to the book, where a ``{glue:figure}`` block shows it with a caption.

    In the book (MyST-NB installed) the figure is stored under ``name`` and not shown in the cell, so
    it appears once, numbered, where the Markdown places it; without MyST-NB (plain Jupyter, Colab) it
    is shown in the cell. Either way it is closed afterwards, so the inline backend does not show it
    a second time; nothing is returned, so a call that ends a cell shows nothing more.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # plain Jupyter or Colab: show it here
        from IPython.display import display

        display(figure)
    else:
        myst_glue(name, figure, display=False)
    plt.close(figure)


def crop(image: np.ndarray, box: tuple[float, float, float] | None) -> np.ndarray:
    """The square ``box = (top, left, side)`` of an image, each a fraction of the image's shorter side."""
    if box is None:
        return image
    top, left, side = box
    if not (0 <= top < 1 and 0 <= left < 1 and 0 < side <= 1):
        raise DeepDreamError(f"crop box {box} must be fractions: 0 <= top, left < 1 and 0 < side <= 1")
    short = min(image.shape[:2])
    size = max(8, round(side * short))
    y = min(round(top * image.shape[0]), image.shape[0] - size)
    x = min(round(left * image.shape[1]), image.shape[1] - size)
    return image[max(y, 0): max(y, 0) + size, max(x, 0): max(x, 0) + size]


def panel_difference(panels: Mapping[str, np.ndarray]) -> tuple[float, str]:
    """The smallest mean absolute pixel difference between two panels, and which pair it was."""
    if len(panels) < 2:
        raise DeepDreamError(f"a comparison needs at least two panels; got {len(panels)}")
    shapes = {np.shape(image) for image in panels.values()}
    if len(shapes) > 1:
        raise DeepDreamError(f"the panels of a comparison must have one shape; got {sorted(shapes)}")
    pairs = (
        (float(np.mean(np.abs(np.clip(panels[a], 0, 1) - np.clip(panels[b], 0, 1)))), f"{a} vs {b}")
        for a, b in itertools.combinations(panels, 2)
    )
    difference, pair = min(pairs)
    return difference, f"closest pair: {pair}"


def comparison(
    panels: Mapping[str, np.ndarray],
    box: tuple[float, float, float] | None = None,
    reference: np.ndarray | None = None,
    amplify: float = 0.0,
    size: float = 3.2,
    title: str | None = None,
) -> Figure:
    """Dreams side by side, each zoomed into the same ``box`` (see :func:`crop`), at a readable size.

    Prints :data:`DIFFERENCE_LINE` with the smallest difference between the shown dream panels, which is
    also the figure's caption. With ``reference`` (the image they all started from) and ``amplify`` > 0,
    a second row shows each panel's change from it, multiplied by ``amplify`` around mid-grey.
    """
    shown = {name: crop(np.asarray(image, dtype=np.float32), box) for name, image in panels.items()}
    difference, pair = panel_difference(shown)
    line = DIFFERENCE_LINE.format(difference=difference, pair=pair)
    print(line)
    rows = 2 if reference is not None and amplify > 0 else 1
    figure, axes = plt.subplots(rows, len(shown), figsize=(size * len(shown), size * rows + 0.9),
                                squeeze=False)
    base = crop(np.asarray(reference, dtype=np.float32), box) if rows == 2 else None
    for column, (name, image) in enumerate(shown.items()):
        axes[0, column].imshow(np.clip(image, 0, 1), interpolation="nearest")
        axes[0, column].set_title(name, fontsize=10)
        if base is not None:
            change = np.clip(0.5 + amplify * (image - base), 0, 1)
            axes[1, column].imshow(change, interpolation="nearest")
            axes[1, column].set_title(f"{name}: change x{amplify:g}", fontsize=9, pad=4)
    for axis in axes.flat:
        axis.axis("off")
    figure.suptitle(f"{title + chr(10) if title else ''}{line}", fontsize=9)
    figure.tight_layout()
    return figure
