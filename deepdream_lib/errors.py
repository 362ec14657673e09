"""Exceptions raised by deepdream_lib, each with a message that says what to do next."""

from __future__ import annotations


class DeepDreamError(ValueError):
    """Base class: a bad input or setting that the learner can fix."""

    # Raised while tf.function traces a step, AutoGraph would rewrite the message into a many-line
    # "in user code" report; with this attribute it re-raises the error as it is, one line.
    ag_pass_through = True


class ImageError(DeepDreamError):
    """An image could not be read, or is not usable as a dream input."""


class UnknownModelError(DeepDreamError, KeyError):
    """A model name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownLayerError(DeepDreamError, KeyError):
    """A layer name that the model does not have; the message lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ObjectiveError(DeepDreamError):
    """An objective that cannot be dreamed: it reads a layer it did not declare, or has no gradient."""


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights cannot be had here (usually: no internet), with the offline alternative."""
