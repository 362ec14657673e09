"""Two build-time adjustments that _config.yml cannot express on its own.

1. Fast and full builds keep separate execution caches (``_build/.jupyter_cache_fast`` and
   ``_build/.jupyter_cache``). jupyter-cache keys a notebook on its code only, so without this a full
   build after a fast one would silently reuse the fast (small, few-step) outputs.
2. When ``book/_vendor`` is missing (``book/vendor.sh`` not run: no npm), fall back to the CDNs for
   MathJax and the widget scripts, so the book still builds; it then needs the internet to display.
"""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
FAST = os.environ.get("DEEPDREAM_FAST", "").strip().lower() in {"1", "true", "yes", "on"}


def _configure(app: Sphinx, config: Config) -> None:
    if not config.nb_execution_cache_path:
        name = ".jupyter_cache_fast" if FAST else ".jupyter_cache"
        config.nb_execution_cache_path = str(Path(app.outdir).parent / name)
    LOGGER.info("DeepDream book: %s mode", "fast" if FAST else "full-quality")

    vendor = Path(app.confdir) / "_vendor"
    if "_vendor" in config.html_static_path and not (vendor / "VERSIONS").exists():
        LOGGER.info("book/_vendor is missing (run book/vendor.sh): MathJax and widgets load from CDNs")
        config.html_static_path = [path for path in config.html_static_path if path != "_vendor"]
        config.mathjax_path = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-mml-chtml.js"
        config.nb_ipywidgets_js = {
            "https://cdn.jsdelivr.net/npm/requirejs@2.3.8/require.js": {},
            "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.15/dist/embed-amd.js": {},
        }


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
