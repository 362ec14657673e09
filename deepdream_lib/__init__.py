"""deepdream_lib: a small TensorFlow 2 / Keras 3 DeepDream library for the course "DeepDream, explained".

The three-line dream::

    import deepdream_lib as dd
    result = dd.dream(dd.sample("chelsea"), "block4_conv3")   # bundled VGG16 (edge-tuned, see models)
    result.save("chelsea_dream.png")

The package has three floors (see ARCHITECTURE.md): the dreaming core in this folder,
``deepdream_lib.lessons`` (helpers of single lessons) and ``deepdream_lib.course`` (exercise checks,
grader, notebook runners). Importing the package is cheap: TensorFlow is imported only when a name
that needs it is first used (PEP 562), so the course tools can import their siblings without it.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings

__version__ = "0.2.0"

# Public name -> the core module that defines it.
_EXPORTS = {
    "DreamConfig": "engine",
    "DreamResult": "engine",
    "dream": "engine",
    "make_step": "engine",
    "objective_and_gradient": "engine",
    "objective_values": "engine",
    "octave_sizes": "engine",
    "DeepDreamError": "errors",
    "ImageError": "errors",
    "UnknownLayerError": "errors",
    "UnknownModelError": "errors",
    "WeightsUnavailableError": "errors",
    "load_image": "images",
    "read_metadata": "images",
    "sample": "images",
    "save_image": "images",
    "check_versions": "mode",
    "imagenet_reachable": "mode",
    "lesson_model": "mode",
    "is_fast": "mode",
    "pick": "mode",
    "Backbone": "models",
    "as_backbone": "models",
    "list_layers": "models",
    "list_models": "models",
    "load_model": "models",
    "Objective": "objectives",
    "as_objective": "objectives",
    "channel": "objectives",
    "channels": "objectives",
    "class_logit": "objectives",
    "diversity": "objectives",
    "guide": "objectives",
    "layer": "objectives",
    "layer_l2": "objectives",
    "neuron": "objectives",
}

# The core's modules, reachable as attributes (``dd.measure``) without a separate import.
_CORE_MODULES = frozenset({
    "cli", "efficientnet_lite", "engine", "errors", "imagenet_classes", "images", "measure", "mode",
    "models", "normalize", "objectives", "parameterization", "regularizers", "viz", "widgets",
    "lessons", "course",
})

# Module paths before the three floors (0.1): old notebooks keep running, with a DeprecationWarning.
MOVED = {
    "deepdream_lib.dream": "deepdream_lib.engine",
    "deepdream_lib.checks": "deepdream_lib.course.checks",
    "deepdream_lib.grading": "deepdream_lib.course.grading",
    "deepdream_lib.kernel_messages": "deepdream_lib.course.kernel_messages",
    **{
        f"deepdream_lib.{name}": f"deepdream_lib.lessons.{name}"
        for name in ("toy", "loop_lab", "layers_lab", "architectures", "guided", "attribution", "art",
                     "interpret")
    },
}

__all__ = sorted([*_EXPORTS, "__version__"])


def _new_path(name: str) -> str | None:
    """The current module path of an old (0.1) one, or None if ``name`` did not move."""
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return None


def _warn_moved(old: str, new: str) -> None:
    warnings.warn(f"{old} moved to {new} in deepdream_lib 0.2; import it from there",
                  DeprecationWarning, stacklevel=3)


class _MovedModuleFinder:
    """Import hook that answers an old module path with the module at its new path (same object)."""

    @staticmethod
    def find_spec(name: str, path=None, target=None):  # noqa: ANN001 - the finder protocol
        new = _new_path(name)
        if new is None:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(name, _MovedModuleFinder, origin=new)

    @staticmethod
    def create_module(spec) -> types.ModuleType:  # noqa: ANN001
        _warn_moved(spec.name, spec.origin)
        return importlib.import_module(spec.origin)

    @staticmethod
    def exec_module(module: types.ModuleType) -> None:
        """Nothing to run: the module is already loaded at its new path."""


if not any(finder is _MovedModuleFinder for finder in sys.meta_path):
    sys.meta_path.insert(0, _MovedModuleFinder)


def __getattr__(name: str) -> object:
    """Load a public name or a core module on first use (PEP 562)."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    elif name in _CORE_MODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    elif f"{__name__}.{name}" in MOVED:
        new = MOVED[f"{__name__}.{name}"]
        _warn_moved(f"{__name__}.{name}", new)
        return importlib.import_module(new)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_CORE_MODULES})


class _Package(types.ModuleType):
    """The package's module type: an import of an old submodule path never replaces a function.

    ``import deepdream_lib.dream`` (the 0.1 path of the engine) makes Python set the package attribute
    ``dream`` to that module; the public ``dream`` is the function, so such a write is ignored.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and name in _EXPORTS:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
