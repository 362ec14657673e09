"""The command line: ``deepdream dream photo.jpg -o dream.png`` (or ``python -m deepdream_lib ...``).

Subcommands::

    deepdream dream INPUT -o OUT.png [--model M] [--layer L] [--channel N] [settings...]
    deepdream list-models [--offline]
    deepdream list-layers MODEL [--size 224] [--all]

Every subcommand is one row of :func:`commands`: a name, a one-line help, a function that adds its
arguments to an ``argparse`` parser and a function that runs it and returns the exit status. A bad
input (a missing file, an unknown layer, an output that already exists or cannot be written, a wrong
option, ...) prints one line, ``deepdream: error: ...``, on stderr and exits with status 2; no
traceback. ``dream`` checks its output path before it loads anything.

The command starts quietly: what TensorFlow's C++ side writes to the process's stderr (start-up lines
such as ``E0000 ... failed call to cuInit``, some of which ignore ``TF_CPP_MIN_LOG_LEVEL``) is held
back (:class:`NativeStderr`) and shown only with ``--verbose`` or when the command crashes. TensorFlow
is therefore imported inside the functions below, never when this module is imported.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import io
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from deepdream_lib import __version__
from deepdream_lib.errors import DeepDreamError, WeightsUnavailableError
from deepdream_lib.images import check_output_path, load_image

PROG = "deepdream"
EXIT_USAGE = 2  # argparse's status for bad arguments; we use it for every input the user can fix
USER_ERRORS = (DeepDreamError, WeightsUnavailableError, OSError)  # ImageError is a DeepDreamError; OSError
# covers FileExistsError and a disk that fills up while saving


@dataclass(frozen=True)
class Command:
    """A subcommand: ``add_arguments(parser)`` declares its options, ``run(args)`` returns the exit status."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]

    @classmethod
    def from_module(cls, name: str, help: str, module: str, extra: str | None = None) -> Command:
        """A subcommand implemented by a module that exposes ``add_arguments(parser)`` and ``run(args)``.

        ``extra`` is the optional dependency set that module needs: when a package of it is missing, the
        other subcommands still work and this one fails with one line that names the extra.
        """
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as error:
            missing = error.name or "a package"
            if extra is None or missing.startswith("deepdream_lib"):
                raise
            return cls(name, help, _any_arguments, lambda args: _needs_extra(name, extra, missing))
        return cls(name, help, loaded.add_arguments, loaded.run)


def _any_arguments(parser: argparse.ArgumentParser) -> None:
    """Accept whatever follows the subcommand, options included (its module could not say which)."""
    parser.prefix_chars = ""  # so that "--lesson 03" is collected too instead of being refused
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def _needs_extra(command: str, extra: str, missing: str) -> int:
    raise DeepDreamError(
        f"'{PROG} {command}' needs the {extra!r} extra ({missing} is not installed): "
        f"pip install 'deepdream_lib[{extra}]'"
    )


# --- dream ---------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


#: The DreamConfig settings as options: (flag, DreamConfig field, type, metavar, help).
SETTINGS = (
    ("--steps", "num_steps", int, "N", "gradient-ascent steps per octave"),
    (
        "--step-size",
        "step_size",
        float,
        "X",
        "pixel change per step (image in [0, 1]); above ~0.006 deep layers saturate",
    ),
    ("--octaves", "num_octaves", int, "N", "how many image sizes to dream at, smallest first"),
    ("--octave-scale", "octave_scale", float, "X", "size ratio between octaves (> 1)"),
    (
        "--octave-mode",
        "octave_mode",
        str,
        None,
        "detail: add the dreamed detail to a sharp copy of the input "
        "(Caffe notebook); resize: upsize the dream itself (TF tutorial)",
    ),
    ("--jitter", "jitter", int, "PX", "largest random shift before each step (0 = off)"),
    ("--normalize", "normalize", str, None, "how the gradient is normalised"),
    ("--tile-size", "tile_size", int, "PX", "compute the gradient in tiles of about this size (big images)"),
    ("--seed", "seed", int, "N", "seed of the jitter, for reproducible dreams"),
)


def _dream_arguments(parser: argparse.ArgumentParser) -> None:
    from deepdream_lib.engine import OCTAVE_MODES, DreamConfig
    from deepdream_lib.models import DEFAULT_MODEL
    from deepdream_lib.normalize import METHODS

    parser.add_argument(
        "input",
        metavar="INPUT",
        help="an image file, an http(s):// URL, or sample:NAME (e.g. sample:chelsea)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="where to write the dream; PNG keeps the recipe in its metadata (default: NAME_dream.png)",
    )
    what = parser.add_argument_group("what to dream")
    what.add_argument("--model", default=DEFAULT_MODEL, help="the backbone, see `deepdream list-models`")
    what.add_argument(
        "--layer", help="the layer to amplify, see `deepdream list-layers MODEL` (default: the model's own)"
    )
    what.add_argument("--channel", type=int, metavar="N", help="amplify only channel N of the layer")
    what.add_argument(
        "--weights-path", metavar="FILE", help="a local Keras weights file for an ImageNet model"
    )
    how = parser.add_argument_group("how to dream (the fields of DreamConfig)")
    defaults, choices = DreamConfig(), {"octave_mode": OCTAVE_MODES, "normalize": METHODS}
    for flag, name, kind, metavar, text in SETTINGS:
        how.add_argument(
            flag,
            dest=name,
            type=kind,
            metavar=metavar,
            choices=choices.get(name),
            default=getattr(defaults, name),
            help=text,
        )
    files = parser.add_argument_group("input and output")
    files.add_argument(
        "--max-size",
        type=_positive_int,
        default=512,
        metavar="PX",
        help="shrink the input to this longer side",
    )
    files.add_argument(
        "--overwrite", action="store_true", help="replace OUT if it exists (never done otherwise)"
    )
    files.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


def _default_output(source: str) -> Path:
    if source.startswith("sample:"):
        stem = source.removeprefix("sample:")
    elif "://" in source:
        stem = Path(source.split("?", 1)[0].rstrip("/")).stem or "download"
    else:
        stem = Path(source).stem
    return Path(f"{stem}_dream.png")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _run_dream(args: argparse.Namespace) -> int:
    from deepdream_lib.engine import DreamConfig, dream
    from deepdream_lib.models import get_spec, load_model
    from deepdream_lib.objectives import channel, layer

    output = Path(args.output) if args.output else _default_output(args.input)
    if not args.overwrite and _same_file(output, Path(args.input)):  # refuse before spending minutes
        raise FileExistsError(f"{output} is the input image; choose another output (or pass --overwrite).")
    check_output_path(output, args.overwrite)  # a folder, no such folder, not writable, exists: say so now
    get_spec(args.model)  # an unknown name fails here, before any loading
    settings = {name: getattr(args, name) for _, name, *_ in SETTINGS}
    config = DreamConfig(**settings)  # validates every setting before anything is loaded
    image = load_image(args.input, max_size=args.max_size)
    backbone = load_model(args.model, weights_path=args.weights_path)
    name = args.layer or backbone.spec.default_layer
    objective = layer(name) if args.channel is None else channel(name, args.channel)
    result = dream(image, objective, backbone, config, progress=not args.no_progress)
    path = result.save(output, overwrite=args.overwrite)
    height, width = result.image.shape[:2]
    gain = f"objective {result.history[0]:.4g} -> {result.history[-1]:.4g}" if result.history else "no steps"
    status = "interrupted; saved the dream so far" if result.interrupted else "saved"
    print(
        f"{status}: {path} ({width}x{height}, {objective}, {len(result.history)} steps in "
        f"{result.seconds:.1f} s, {gain})"
    )
    if path.suffix.lower() != ".png":
        print("note: only PNG files keep the recipe (model, objective, settings) in their metadata.")
    return 130 if result.interrupted else 0


# --- list-models, list-layers --------------------------------------------------------------------


def _list_models_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--offline", action="store_true", help="only models whose weights need no download")


def _run_list_models(args: argparse.Namespace) -> int:
    from deepdream_lib.models import list_models

    specs = list_models(offline_only=args.offline)
    width = max(len(spec.name) for spec in specs)
    print(f"{'model':<{width}}  offline  default layer      description")
    for spec in specs:
        offline = "yes" if spec.offline else "no"
        print(f"{spec.name:<{width}}  {offline:<7}  {spec.default_layer:<17}  {spec.description}")
    return 0


def _list_layers_arguments(parser: argparse.ArgumentParser) -> None:
    from deepdream_lib.models import DEFAULT_MODEL

    parser.add_argument("model", metavar="MODEL", help=f"a model name, e.g. {DEFAULT_MODEL}")
    parser.add_argument("--size", type=_positive_int, default=224, help="input size the shapes are given for")
    parser.add_argument(
        "--all", action="store_true", help="every feature-map layer, not only the suggested ones"
    )


def _run_list_layers(args: argparse.Namespace) -> int:
    from deepdream_lib.models import MODELS, get_spec, list_layers, load_model

    spec = get_spec(args.model)
    # Shapes depend on the architecture only: an online model is measured on its random twin (no download).
    measured = spec.name if spec.offline else f"{spec.architecture}_random"
    if measured not in MODELS:
        measured = spec.name
    infos = list_layers(load_model(measured), size=args.size)
    if not args.all:
        infos = [info for info in infos if info.name in spec.layers]
    width = max([len(info.name) for info in infos] + [5])
    which = "all" if args.all else "suggested"
    print(f"{spec.name}: feature maps for a {args.size}x{args.size} input ({which})")
    print(f"{'layer':<{width}}  {'kind':<18} {'height x width':>14}  {'channels':>8}  {'stride':>6}")
    for info in infos:
        marker = " *" if args.all and info.name in spec.layers else ""
        size = f"{info.height} x {info.width}"
        print(
            f"{info.name:<{width}}  {info.kind:<18} {size:>14}  {info.channels:>8}  {info.stride:>6}{marker}"
        )
    if args.all:
        print("* suggested for dreaming")
    return 0


# --- the table of subcommands --------------------------------------------------------------------


def commands() -> list[Command]:
    """The subcommands, in the order ``--help`` lists them."""
    return [
        Command("dream", "dream on an image and save it with its recipe", _dream_arguments, _run_dream),
        Command(
            "list-models",
            "list the backbones and their default layers",
            _list_models_arguments,
            _run_list_models,
        ),
        Command(
            "list-layers",
            "list a model's layers with their shapes and strides",
            _list_layers_arguments,
            _run_list_layers,
        ),
        Command.from_module(
            "grade", "grade a class's exercise submissions", "deepdream_lib.course.grading", extra="course"
        ),
    ]


class _HelpFormatter(argparse.HelpFormatter):
    """Show an option's default in its help, unless there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.option_strings and not any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse, but a wrong option is one line too (with where to read the usage), like every failure."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="DeepDream, explained: amplify what a neural network sees in an image.",
        epilog="example: deepdream dream sample:chelsea -o chelsea_dream.png --layer block4_conv3",
    )
    parser.add_argument("--version", action="version", version=f"deepdream_lib {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands():
        sub = subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.help[0].upper() + command.help[1:] + ".",
            formatter_class=_HelpFormatter,
        )
        command.add_arguments(sub)
        if "-" in sub.prefix_chars:  # (a subcommand that collects every argument takes none of its own)
            sub.add_argument(
                "--verbose",
                action="store_true",
                help="also show what TensorFlow writes to stderr (held back otherwise)",
            )
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input or arguments, 130 interrupted)."""
    with NativeStderr() as native:
        try:
            args = build_parser().parse_args(argv)  # this imports TensorFlow: its start-up lines are held
            if getattr(args, "verbose", False):
                native.release(replay=True)
            return args.run(args)
        except USER_ERRORS as error:
            message = " ".join(str(error).split())  # one line, whatever the message held
            print(f"{PROG}: error: {message}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except Exception:  # a bug: show the traceback, and what the native libraries said before it
            native.release(replay=True)
            raise


def _writes_to_fd2(stream: object) -> bool:
    try:
        return stream.fileno() == 2  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # e.g. pytest's captured stream has no descriptor
        return False


class NativeStderr:
    """While open, hold back what native code writes to the process's stderr (file descriptor 2).

    TensorFlow's C++ logging writes to fd 2 directly, below Python. Here fd 2 points at a temporary
    file instead, while Python's ``sys.stderr`` (the progress bar, the one-line errors, warnings)
    reaches the terminal through a copy of the original descriptor. :meth:`release` puts fd 2 back
    and, with ``replay=True``, writes out what was held; leaving the block without it drops it. A hard
    crash (segmentation fault) still prints Python's traceback to the terminal (``faulthandler``).
    """

    def __enter__(self) -> NativeStderr:
        sys.stderr.flush()
        self._held = tempfile.TemporaryFile()
        self._terminal = os.dup(2)
        os.dup2(self._held.fileno(), 2)
        self._python_stderr = sys.stderr
        if _writes_to_fd2(sys.stderr):
            encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
            sys.stderr = io.TextIOWrapper(
                io.FileIO(os.dup(self._terminal), "w"), encoding, "backslashreplace", line_buffering=True
            )
        self._owns_faulthandler = not faulthandler.is_enabled()
        if self._owns_faulthandler:
            faulthandler.enable(file=self._terminal)
        self._open = True
        return self

    def release(self, replay: bool = False) -> None:
        """Give fd 2 back to the terminal and, with ``replay``, write out there what was held back."""
        if not self._open:
            return
        self._open = False
        if self._owns_faulthandler:
            faulthandler.disable()
        if sys.stderr is not self._python_stderr:
            sys.stderr.close()
            sys.stderr = self._python_stderr
        sys.stderr.flush()
        os.dup2(self._terminal, 2)
        os.close(self._terminal)
        if replay:
            self._held.seek(0)
            os.write(2, self._held.read())
        self._held.close()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


if __name__ == "__main__":
    raise SystemExit(main())
