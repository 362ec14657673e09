"""deepdream_lib.lessons.show (claims as one line, glue, comparison figures) and the lesson switch in mode."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from deepdream_lib import mode
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.lessons import show


def test_a_claim_that_holds_prints_one_line(capsys):
    assert show.claim("jitter weakens the 4-px grid", 1.7 < 3.5, "3.5 → 1.7") is None  # no "True" shown
    assert capsys.readouterr().out == "✓ jitter weakens the 4-px grid: 3.5 → 1.7\n"


def test_a_claim_that_fails_says_what_was_expected():
    with pytest.raises(show.ClaimFailed, match=r"✗ octaves help: 0.9x; expected more than 1.2x"):
        show.claim("octaves help", False, "0.9x", expected="more than 1.2x")


def test_a_learned_claim_is_reported_not_failed_on_another_network(monkeypatch, capsys):
    monkeypatch.setattr(mode, "_chosen", [])
    monkeypatch.setenv(mode.MODEL_ENV, "vgg16")
    assert mode.lesson_model() == "vgg16"
    show.claim("deep layers dream eyes", False, "0 eyes", learned_by="vgg16_hed")
    out = capsys.readouterr().out
    assert out.startswith("· deep layers dream eyes: 0 eyes (does not hold here")
    assert "measured on vgg16_hed, so not checked on vgg16" in out
    monkeypatch.setenv(mode.MODEL_ENV, "vgg16_hed")
    mode.lesson_model()
    with pytest.raises(show.ClaimFailed):
        show.claim("deep layers dream eyes", False, learned_by="vgg16_hed")


def test_a_learned_claim_is_checked_on_the_network_the_lesson_chose(monkeypatch):
    monkeypatch.setattr(mode, "_chosen", [])
    monkeypatch.delenv(mode.MODEL_ENV, raising=False)
    assert mode.chosen_model() is None
    with pytest.raises(show.ClaimFailed):  # nothing chosen: every claim is checked
        show.claim("the classifier reads a cat", False, learned_by="efficientnet_lite0")
    assert mode.lesson_model("efficientnet_lite0") == "efficientnet_lite0"
    with pytest.raises(show.ClaimFailed):  # the lesson's own default network: checked, not reported
        show.claim("the classifier reads a cat", False, learned_by="efficientnet_lite0")


def test_lesson_model_follows_the_environment(monkeypatch):
    monkeypatch.delenv(mode.MODEL_ENV, raising=False)
    assert mode.lesson_model() == "vgg16_hed" and mode.lesson_model("vgg16") == "vgg16"
    monkeypatch.setenv(mode.MODEL_ENV, " efficientnet_lite0 ")
    assert mode.lesson_model() == "efficientnet_lite0"


def test_imagenet_reachable_answers_false_when_the_connection_fails(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no network")

    mode.imagenet_reachable.cache_clear()
    monkeypatch.setattr(mode.socket, "create_connection", refuse)
    try:
        assert mode.imagenet_reachable() is False
    finally:
        mode.imagenet_reachable.cache_clear()


def test_glue_returns_the_formatted_value():
    assert show.glue("test_ratio", 3.14159, "{:.1f}") == "3.1"
    assert repr(show._Text("3.1")) == "3.1"  # shown in the book without quotes


def test_crop_takes_the_same_fraction_of_any_size():
    small, large = np.zeros((64, 96, 3)), np.zeros((256, 384, 3))
    assert show.crop(small, (0.25, 0.5, 0.5)).shape == (32, 32, 3)
    assert show.crop(large, (0.25, 0.5, 0.5)).shape == (128, 128, 3)
    assert show.crop(small, (0.9, 0.9, 0.5)).shape == (32, 32, 3)  # kept inside the image
    with pytest.raises(DeepDreamError, match="must be fractions"):
        show.crop(small, (0.2, 0.2, 1.5))


def test_panel_difference_finds_the_closest_pair():
    a, b = np.zeros((8, 8, 3)), np.full((8, 8, 3), 0.5)
    c = a + 0.01
    difference, pair = show.panel_difference({"a": a, "b": b, "c": c})
    assert difference == pytest.approx(0.01) and pair == "closest pair: a vs c"
    with pytest.raises(DeepDreamError, match="at least two panels"):
        show.panel_difference({"a": a})
    with pytest.raises(DeepDreamError, match="one shape"):
        show.panel_difference({"a": a, "b": np.zeros((4, 4, 3))})


def test_comparison_prints_and_captions_the_difference(capsys):
    rng = np.random.default_rng(0)
    photo = rng.random((40, 60, 3))
    panels = {"plain": photo, "brighter": np.clip(photo + 0.2, 0, 1)}
    figure = show.comparison(panels, box=(0.1, 0.1, 0.5), reference=photo, amplify=3, title="demo")
    out = capsys.readouterr().out
    difference = float(out.split("panels differ by ")[1].split()[0])
    assert difference == pytest.approx(show.panel_difference(
        {k: show.crop(v, (0.1, 0.1, 0.5)) for k, v in panels.items()})[0], abs=1e-3)
    assert difference > show.NEAR_IDENTICAL
    assert "panels differ by" in figure._suptitle.get_text() and len(figure.axes) == 4
    plt.close(figure)


def test_a_reported_claim_prints_not_reproduced_instead_of_failing(capsys):
    assert show.claim("octaves help", False, "0.9x", expected="more than 1.2x", report=True) is None
    assert capsys.readouterr().out == (f"· octaves help: 0.9x ({show.NOT_REPRODUCED}; "
                                       "expected more than 1.2x)\n")
    show.claim("octaves help", True, "1.5x", report=True)  # one that holds reads as any other
    assert capsys.readouterr().out == "✓ octaves help: 1.5x\n"


def test_glue_figure_hands_the_figure_to_the_book_and_closes_it(monkeypatch):
    myst_nb = pytest.importorskip("myst_nb")
    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: display}))
    figure = plt.figure()
    assert show.glue_figure("fig_a", figure) is None
    assert glued == {"fig_a": False}
    assert not plt.fignum_exists(figure.number)  # closed: the inline backend will not show it again
