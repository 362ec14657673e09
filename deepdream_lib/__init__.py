"""deepdream_lib: a small TensorFlow 2 / Keras 3 DeepDream library for the course "DeepDream, explained".

The three-line dream::

    from deepdream_lib import sample, dream
    result = dream(sample("chelsea"), "block4_conv3")   # bundled VGG16 (edge-tuned, see models)
    result.save("chelsea_dream.png")
"""

__version__ = "0.1.0"

from deepdream_lib.dream import DreamConfig, DreamResult, dream, make_step, octave_sizes  # noqa: E402
from deepdream_lib.errors import (  # noqa: E402
    DeepDreamError,
    ImageError,
    UnknownLayerError,
    UnknownModelError,
    WeightsUnavailableError,
)
from deepdream_lib.images import load_image, read_metadata, sample, save_image  # noqa: E402
from deepdream_lib.mode import check_versions, is_fast, pick  # noqa: E402
from deepdream_lib.models import Backbone, list_layers, list_models, load_model  # noqa: E402
from deepdream_lib.objectives import (  # noqa: E402
    Objective,
    channel,
    channels,
    class_logit,
    guide,
    layer,
    layer_l2,
    neuron,
)

__all__ = [
    "Backbone",
    "DeepDreamError",
    "DreamConfig",
    "DreamResult",
    "ImageError",
    "Objective", "check_versions",
    "UnknownLayerError",
    "UnknownModelError",
    "WeightsUnavailableError",
    "__version__",
    "channel",
    "channels",
    "class_logit",
    "dream",
    "guide",
    "is_fast",
    "layer",
    "layer_l2",
    "list_layers",
    "list_models",
    "load_image",
    "load_model",
    "make_step",
    "neuron",
    "octave_sizes",
    "pick",
    "read_metadata",
    "sample",
    "save_image",
]
