"""The command line: it writes a PNG with its recipe, never overwrites, and fails with one clear line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepdream_lib import __version__, cli
from deepdream_lib.images import load_image, read_metadata, save_image

SMALL = ["--max-size", "64", "--steps", "2", "--octaves", "1", "--no-progress"]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepdream: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_dream_writes_a_png_with_its_recipe(capsys, tmp_path):
    out = tmp_path / "cat.png"
    status, stdout, err = _run(capsys, "dream", "sample:chelsea", "-o", out, *SMALL, "--seed", "3")
    assert status == 0, err
    assert f"saved: {out}" in stdout and "64x43" in stdout
    image = load_image(out)
    assert image.shape == (43, 64, 3)
    assert not np.allclose(image, load_image("sample:chelsea", max_size=64), atol=1 / 255)  # it dreamed
    metadata = read_metadata(out)
    assert metadata["deepdream:model"] == "vgg16_hed"
    assert metadata["deepdream:objective"] == 'layer("block4_conv3")'
    assert (metadata["deepdream:num_steps"], metadata["deepdream:num_octaves"]) == ("2", "1")
    assert (metadata["deepdream:seed"], metadata["deepdream:normalize"]) == ("3", "std")
    assert metadata["Software"] == f"deepdream_lib {__version__}"


def test_dream_a_channel_with_every_setting(capsys, tmp_path):
    out = tmp_path / "channel.png"
    status, _, err = _run(
        capsys, "dream", "sample:chelsea", "-o", out, "--layer", "block3_conv3", "--channel", "7",
        "--step-size", "0.004", "--octave-scale", "1.2", "--octave-mode", "resize", "--jitter", "4",
        "--normalize", "laplacian", "--tile-size", "64", "--max-size", "64", "--steps", "2", "--octaves", "2",
        "--no-progress",
    )  # fmt: skip
    assert status == 0, err
    metadata = read_metadata(out)
    assert metadata["deepdream:objective"] == 'channel("block3_conv3", 7)'
    expected = dict(step_size="0.004", octave_scale="1.2", octave_mode="resize", jitter="4",
                    normalize="laplacian", tile_size="64", num_octaves="2")  # fmt: skip
    for key, value in expected.items():
        assert metadata[f"deepdream:{key}"] == value, key


def test_missing_input_fails_with_one_line(capsys, tmp_path):
    out = tmp_path / "out.png"
    status, stdout, err = _run(capsys, "dream", tmp_path / "nope.jpg", "-o", out, *SMALL)
    assert status == 2 and stdout == ""
    _assert_one_line_error(err, "No such file", "nope.jpg")
    assert not out.exists()


def test_an_existing_output_is_never_overwritten_without_the_flag(capsys, tmp_path):
    out = tmp_path / "out.png"
    save_image(np.zeros((20, 20, 3), np.float32), out)
    before, mtime = out.read_bytes(), out.stat().st_mtime_ns
    status, _, err = _run(capsys, "dream", "sample:chelsea", "-o", out, *SMALL)
    assert status == 2
    _assert_one_line_error(err, "exists", "--overwrite")
    assert out.read_bytes() == before and out.stat().st_mtime_ns == mtime
    status, _, err = _run(capsys, "dream", "sample:chelsea", "-o", out, *SMALL, "--overwrite")
    assert status == 0, err
    assert load_image(out).shape == (43, 64, 3)


def test_the_input_is_never_overwritten(capsys, tmp_path):
    photo = tmp_path / "photo.png"
    save_image(load_image("sample:chelsea", max_size=64), photo)
    before = photo.read_bytes()
    status, _, err = _run(capsys, "dream", photo, "-o", photo, *SMALL)
    assert status == 2
    _assert_one_line_error(err, "is the input image")
    assert photo.read_bytes() == before


def test_default_output_name_is_next_to_the_working_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, err = _run(capsys, "dream", "sample:chelsea", *SMALL)
    assert status == 0, err
    assert (tmp_path / "chelsea_dream.png").exists()
    assert cli._default_output("https://example.org/a/b/photo.jpg?x=1") == Path("photo_dream.png")


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--model", "vgg17"], ["Unknown model 'vgg17'", "vgg16_hed"]),
        (["--layer", "block9"], ["no layer 'block9'", "block4_conv3"]),
        (["--channel", "512"], ["out of range", "512 channels"]),
        (["--steps", "0"], ["num_steps"]),
        (["--octave-scale", "1.0"], ["octave_scale"]),
        (["--step-size", "-0.1"], ["step_size"]),
        (["--octaves", "9"], ["Use fewer octaves"]),
        (["-o", "out.xyz"], ["end its name with .png"]),
        (["-o", "missing_folder/out.png"], ["does not exist"]),
    ],
)
def test_bad_settings_fail_with_one_line(capsys, tmp_path, monkeypatch, argv, fragments):
    monkeypatch.chdir(tmp_path)
    status, _, err = _run(capsys, "dream", "sample:chelsea", "-o", "out.png", *SMALL, *argv)
    assert status == 2
    _assert_one_line_error(err, *fragments)
    assert os.listdir(tmp_path) == []


def test_argument_errors_exit_2(capsys):
    for argv in (["dream"], ["dream", "x.png", "--normalize", "l2"], ["nonsense"], []):
        with pytest.raises(SystemExit) as caught:
            cli.main(argv)
        assert caught.value.code == 2
    capsys.readouterr()


def test_list_models_and_layers(capsys):
    status, out, _ = _run(capsys, "list-models")
    assert status == 0 and "vgg16_hed" in out and "inception_v3" in out
    status, out, _ = _run(capsys, "list-models", "--offline")
    assert status == 0 and "vgg16_hed" in out and "inception_v3 " not in out
    status, out, _ = _run(capsys, "list-layers", "vgg16_hed")
    assert status == 0
    [row] = [line.split() for line in out.splitlines() if line.startswith("block4_conv3")]
    assert row == ["block4_conv3", "Conv2D", "28", "x", "28", "512", "8"]
    status, out, _ = _run(capsys, "list-layers", "vgg16_hed", "--all", "--size", "64")
    assert "block4_pool" in out and "block4_conv3" in out and "* suggested" in out
    status, _, err = _run(capsys, "list-layers", "vgg17")
    assert status == 2
    _assert_one_line_error(err, "Unknown model")


def test_subcommands_come_from_one_table():
    names = [command.name for command in cli.commands()]
    assert names[:3] == ["dream", "list-models", "list-layers"] and len(set(names)) == len(names)
    help_text = cli.build_parser().format_help()
    for command in cli.commands():
        assert command.name in help_text


NATIVE_LOG_LINE = re.compile(r"^[IWEF]\d{4} ", re.MULTILINE)  # absl's C++ log format: E0000 00:00:... cuInit


def _deepdream(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m deepdream_lib ARGV`` in a fresh process, with every TensorFlow log level let through."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0", **(env or {})}
    command = [sys.executable, "-m", "deepdream_lib", *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def test_python_dash_m_end_to_end_starts_quietly(tmp_path):
    """The real entry point: a dream's stderr is its progress bar and nothing else, even at TensorFlow's
    most talkative log level; the result line is on stdout; then a failure is one line, no traceback."""
    out = tmp_path / "cat.png"
    argv = ["dream", "sample:chelsea", "-o", out, *[arg for arg in SMALL if arg != "--no-progress"]]
    done = _deepdream(*argv)
    assert done.returncode == 0, done.stderr
    assert read_metadata(out)["deepdream:model"] == "vgg16_hed"
    assert done.stdout.startswith(f"saved: {out} (64x43") and done.stdout.count("\n") == 1, done.stdout
    lines = [line.strip() for line in re.split(r"[\r\n]", done.stderr) if line.strip()]
    assert lines and all(line.startswith("dreaming:") for line in lines), done.stderr  # only the bar
    again = _deepdream(*argv)
    assert again.returncode == 2 and again.stdout == ""
    _assert_one_line_error(again.stderr, "exists", "--overwrite")


def test_verbose_shows_what_tensorflow_wrote():
    quiet = _deepdream("list-models", "--offline")
    verbose = _deepdream("list-models", "--offline", "--verbose")
    assert quiet.returncode == verbose.returncode == 0
    assert quiet.stderr == "" and quiet.stdout == verbose.stdout
    assert NATIVE_LOG_LINE.search(verbose.stderr), verbose.stderr  # e.g. "I0000 ... cudart_stub.cc"


def _folder_that_is_a_file(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("a file")
    return tmp_path / "notes.txt" / "out.png"


def _a_folder(tmp_path: Path) -> Path:
    (tmp_path / "adir.png").mkdir()
    return tmp_path / "adir.png"


OUTPUTS = [
    pytest.param(_a_folder, ["is a folder", "adir.png"], id="a-folder-even-with-overwrite"),
    pytest.param(lambda tmp: tmp / "missing" / "out.png", ["does not exist"], id="no-such-folder"),
    pytest.param(_folder_that_is_a_file, ["notes.txt is a file, not a folder"], id="parent-is-a-file"),
    pytest.param(lambda tmp: Path("/proc/x.png"), ["/proc/x.png cannot be written", "takes no new files"],
                 id="proc", marks=pytest.mark.skipif(not Path("/proc").is_dir(), reason="Linux only")),
]  # fmt: skip


@pytest.mark.parametrize(("build", "fragments"), OUTPUTS)
def test_an_output_that_cannot_be_written_fails_before_the_model_loads(capsys, tmp_path, monkeypatch, build,
                                                                      fragments):
    from deepdream_lib import models

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(models, "load_model", no_loading)
    out = build(tmp_path)
    before = sorted(path.name for path in tmp_path.rglob("*"))
    status, stdout, err = _run(capsys, "dream", "sample:chelsea", "-o", out, *SMALL, "--overwrite")
    assert status == 2 and stdout == ""
    _assert_one_line_error(err, *fragments)
    assert sorted(path.name for path in tmp_path.rglob("*")) == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_fails_before_the_model_loads(capsys, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        status, _, err = _run(capsys, "dream", "sample:chelsea", "-o", folder / "out.png", *SMALL)
    finally:
        folder.chmod(0o700)
    assert status == 2
    _assert_one_line_error(err, "cannot be written", "takes no new files")
    assert list(folder.iterdir()) == []


def test_a_wrong_option_is_one_line_too(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["dream", "sample:chelsea", "--steps"])
    assert caught.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "expected one argument" in lines[0] and "--help" in lines[0], lines
