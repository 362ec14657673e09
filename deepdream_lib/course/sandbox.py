"""Bubblewrap sandboxes for the grader: one per submission (``bwrap``, the sandbox behind Flatpak).

What a sandboxed run sees (:func:`arguments`):

* the system (``/usr``, ``/etc`` and the ``/bin``, ``/lib``... links) and the course's environment (the
  Python installation, the virtual environment and the ``deepdream_lib`` package; :func:`course_paths`),
  read-only, at their own paths; nothing else of the host: not the submissions, the other students, the
  instructor's folders, ``solutions/`` or the home folder;
* a fresh home, ``/home/student`` (its working folder, with only its notebook), a private ``/tmp`` and
  ``/dev/shm``, all in memory and of bounded size; the grading files (read-only copies) in ``/run``;
* its own user, PID, IPC, network (no network at all), UTS and cgroup namespaces: inside, it is user
  1000 without capabilities, cannot create user namespaces, and ``ps`` shows only its own processes.
  When its first process ends, the kernel kills every process left in the PID namespace, so nothing a
  notebook starts (a ``setsid`` daemon included) outlives its run. ``--die-with-parent`` ends it with
  the grader.

The environment is empty but for what the grader sets (``--clearenv``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import deepdream_lib

BWRAP = "bwrap"
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install "
    "bubblewrap; macOS has none: grade in a Linux VM)"
)
HOME = "/home/student"  # the run's working folder, inside
GRADING_DIR = "/run/grading"  # the grader's read-only files, inside
SANDBOX_UID = 1000
TMPFS_MB = 256  # the size of the home folder and of /tmp, each (they live in memory)
SHM_MB = 64
SYSTEM_DIRS = ("/usr", "/etc")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
PROBE_TIMEOUT_S = 30


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def course_paths() -> list[Path]:
    """The host folders a kernel needs, beyond the system: Python, the environment, the package.

    Each at its own path and resolved; none inside another or inside a system folder. When the package is
    installed in editable mode, only its folder is listed, not the repository around it (``solutions/``).
    """
    candidates = {
        Path(p).resolve()
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    }
    candidates.add(Path(sys.executable).resolve().parent.parent)
    candidates.add(Path(deepdream_lib.__file__).resolve().parent)
    kept: list[Path] = []
    for path in sorted(candidates, key=lambda p: len(p.parts)):
        if path.is_dir() and not _inside(path, [Path(d) for d in SYSTEM_DIRS] + kept):
            kept.append(path)
    return kept


def _system() -> list[str]:
    """Bind the system read-only: its folders, and its top-level links (merged /usr) as links."""
    args: list[str] = []
    for folder in SYSTEM_DIRS:
        if os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    for name in SYSTEM_LINKS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def arguments(
    read_only: Iterable[Path],
    home_files: Iterable[tuple[int, str]] = (),
    data_files: Iterable[tuple[int, str]] = (),
    env: Mapping[str, str] | None = None,
    read_only_at: Iterable[tuple[Path, str]] = (),
) -> list[str]:
    """``bwrap``'s options for one run (the command comes after ``--``).

    ``read_only``: host paths shown read-only at the same path (beyond the system); ``home_files``:
    ``(fd, name)`` copied from an open file into the writable home; ``data_files``: ``(fd, path)`` copied
    into a read-only file at ``path``; ``env``: the whole environment; ``read_only_at``: ``(host path,
    path)`` shown read-only elsewhere.
    """
    args = ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    args += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "grading"]
    args += ["--die-with-parent", "--new-session", "--clearenv"]
    for key, value in (env or {}).items():
        args += ["--setenv", key, value]
    args += _system()
    bound: list[Path] = [Path(d) for d in SYSTEM_DIRS]
    for path in sorted({Path(p) for p in read_only}, key=lambda p: len(p.parts)):
        if not _inside(path, bound):
            args += ["--ro-bind", str(path), str(path)]
            bound.append(path)
    args += ["--dev", "/dev", "--size", str(SHM_MB << 20), "--tmpfs", "/dev/shm", "--proc", "/proc"]
    args += ["--size", str(TMPFS_MB << 20), "--tmpfs", "/tmp", "--size", str(TMPFS_MB << 20), "--tmpfs", HOME]
    for fd, name in home_files:
        args += ["--file", str(fd), f"{HOME}/{name}"]
    for fd, path in data_files:
        args += ["--dir", str(Path(path).parent), "--ro-bind-data", str(fd), path]
    for source, path in read_only_at:
        args += ["--ro-bind", str(source), path]
    return args + ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", HOME]


def command(options: list[str], inner: list[str]) -> list[str]:
    """The full command line: ``bwrap OPTIONS -- INNER``."""
    return [shutil.which(BWRAP) or BWRAP, *options, "--", *inner]


def problem() -> str | None:
    """Why a sandbox cannot start here (one line), or None when one can: starts an empty one."""
    if shutil.which(BWRAP) is None:
        return "bubblewrap (bwrap) is not installed"
    probe = command(arguments(course_paths()), [sys.executable, "-I", "-c", "pass"])
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not start a sandbox ({error})"
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines() or [f"exit status {done.returncode}"]
        return f"bwrap could not start a sandbox ({lines[-1][:200]})"
    return None
