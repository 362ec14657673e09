"""Build-time additions that _config.yml cannot express on its own.

1. Fast and full builds keep separate execution caches (``_build/.jupyter_cache_fast`` and
   ``_build/.jupyter_cache``). jupyter-cache keys a notebook on its code only, so without this a full
   build after a fast one would silently reuse the fast (small, few-step) outputs.
2. When ``book/_vendor`` is missing (``book/vendor.sh`` not run: no npm), fall back to the CDNs for
   MathJax and the widget scripts, so the book still builds; it then needs the internet to display.
3. The notebooks run through nbclient with kernel waits in one-second slices
   (:mod:`deepdream_lib.course.kernel_messages`): a long poll could sleep through a cell's reply until the
   600 s cell limit (seen on lesson 07's last cell, which stalled the build for ten minutes).
"""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from deepdream_lib.course import kernel_messages

LOGGER = logging.getLogger(__name__)
FAST = os.environ.get("DEEPDREAM_FAST", "").strip().lower() in {"1", "true", "yes", "on"}


def _configure(app: Sphinx, config: Config) -> None:
    if not config.nb_execution_cache_path:
        name = ".jupyter_cache_fast" if FAST else ".jupyter_cache"
        config.nb_execution_cache_path = str(Path(app.outdir).parent / name)
    LOGGER.info("DeepDream book: %s mode", "fast" if FAST else "full-quality")
    config.myst_substitutions = {
        **config.myst_substitutions,
        "build_mode": "fast mode (small images, few steps, as in CI)" if FAST else "full quality",
    }

    vendor = Path(app.confdir) / "_vendor"
    if "_vendor" in config.html_static_path and not (vendor / "VERSIONS").exists():
        LOGGER.info("book/_vendor is missing (run book/vendor.sh): MathJax and widgets load from CDNs")
        config.html_static_path = [path for path in config.html_static_path if path != "_vendor"]
        config.mathjax_path = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-mml-chtml.js"
        config.nb_ipywidgets_js = {
            "https://cdn.jsdelivr.net/npm/requirejs@2.3.8/require.js": {},
            "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.15/dist/embed-amd.js": {},
        }


class dream_gallery(nodes.General, nodes.Element):  # noqa: N801 (docutils names nodes in lower case)
    """Placeholder for the gallery, filled once every lesson has been read and executed."""


class DreamGallery(SphinxDirective):
    """``{dream-gallery}``: figures from lesson cells tagged ``gallery``, linked to their lessons."""

    def run(self) -> list[nodes.Node]:
        return [dream_gallery()]


def _gallery_figures(app: Sphinx, docname: str) -> list[nodes.figure]:
    """One captioned figure per image in the ``gallery``-tagged cells of the lessons, in lesson order."""
    figures = []
    for lesson in sorted(doc for doc in app.env.found_docs if doc.startswith("notebooks/")):
        title = app.env.titles[lesson].astext()
        for cell in app.env.get_doctree(lesson).findall(nodes.container):
            if "tag_gallery" not in cell["classes"]:
                continue
            for image in list(cell.findall(nodes.image))[:1]:  # a cell's first figure
                link = nodes.reference("", title, internal=True,
                                       refuri=app.builder.get_relative_uri(docname, lesson))
                caption = nodes.caption("", "", link)
                image = image.deepcopy()
                image["alt"] = f"A dream from lesson {title}"
                figure = nodes.figure("", image, caption, classes=["dream-gallery-item"])
                figure["ids"] = [f"gallery-{len(figures) + 1}"]
                figures.append(figure)
    return figures


def _fill_galleries(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for placeholder in list(doctree.findall(dream_gallery)):
        figures = _gallery_figures(app, docname)
        if not figures:
            LOGGER.warning("dream-gallery: no lesson cell tagged 'gallery' has a figure",
                           location=placeholder)
        placeholder.replace_self(nodes.container("", *figures, classes=["dream-gallery"]))


def _gallery_outdated(app: Sphinx, env, added: set, changed: set, removed: set) -> list[str]:
    """Re-write the landing page (the gallery's page) whenever any page changed."""
    return [app.config.root_doc] if added | changed | removed else []


def _add_static(app: Sphinx) -> None:
    app.config.html_static_path.append(str(Path(__file__).parent / "static"))


def setup(app: Sphinx) -> dict:
    kernel_messages.install()
    app.connect("config-inited", _configure, priority=100)
    app.add_node(dream_gallery)
    app.add_directive("dream-gallery", DreamGallery)
    app.connect("builder-inited", _add_static)
    app.add_css_file("deepdream.css")
    app.connect("doctree-resolved", _fill_galleries)
    app.connect("env-get-outdated", _gallery_outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
