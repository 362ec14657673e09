"""The package's three floors (ARCHITECTURE.md): who may import whom, a cheap top-level import, and the
old (0.1) module paths that published notebooks still use."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest

import deepdream_lib as dd

PACKAGE = Path(dd.__file__).parent


def floor_of(module: str) -> str:
    """'core', 'lessons' or 'course' for a module path of the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("lessons", "course") else "core"


def imported_modules(path: Path) -> set[str]:
    """Every deepdream_lib module a file imports, at its top or inside a function (absolute or relative)."""
    package = ".".join(("deepdream_lib", *path.relative_to(PACKAGE).parent.parts))
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    found |= {
        node.args[-1].value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[-1], ast.Constant)
        and isinstance(node.args[-1].value, str) and node.args[-1].value.startswith("deepdream_lib.")
    }  # modules named by string, e.g. the CLI's Command.from_module(..., "deepdream_lib.course.grading")
    return {name for name in found if name.split(".")[0] == "deepdream_lib"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(("deepdream_lib", *parts)).removesuffix(".__init__")


FILES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
# The one arrow upwards that ARCHITECTURE.md allows: the CLI's `grade` command names the grader by string
# and imports it only when that command runs (an edge of the core, like a script).
ALLOWED = {("deepdream_lib.cli", "deepdream_lib.course.grading")}
FORBIDDEN = {"core": {"lessons", "course"}, "lessons": {"course"}, "course": set()}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_floor_imports_a_floor_above_it(path):
    source = module_name(path)
    if source == "deepdream_lib":
        return  # the package entry names every floor lazily, by string
    bad = sorted(
        target for target in imported_modules(path)
        if floor_of(target) in FORBIDDEN[floor_of(source)] and (source, target) not in ALLOWED
    )
    assert not bad, f"{source} ({floor_of(source)}) imports {bad}, a floor above it"


def test_the_import_graph_reader_sees_an_upward_import(tmp_path):
    """The test above can fail: a core file importing a lesson helper is reported."""
    fake = PACKAGE / "_fake_upward_import_for_test.py"
    fake.write_text("from deepdream_lib.lessons import toy\nfrom .course import grading\n")
    try:
        assert imported_modules(fake) >= {"deepdream_lib.lessons.toy", "deepdream_lib.course.grading"}
        assert floor_of(module_name(fake)) == "core"
    finally:
        fake.unlink()


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_importing_the_package_does_not_import_tensorflow():
    done = run_python("import deepdream_lib, sys; assert 'tensorflow' not in sys.modules, 'tf loaded'")
    assert done.returncode == 0, done.stderr


def test_the_course_floor_imports_without_tensorflow():
    done = run_python(
        "import sys; from deepdream_lib.course import grading, kernel_messages; "
        "assert 'tensorflow' not in sys.modules, sorted(m for m in sys.modules if 'tensorflow' in m)[:3]"
    )
    assert done.returncode == 0, done.stderr


def test_dream_stays_the_function_after_every_submodule_is_imported():
    for info in pkgutil.walk_packages(dd.__path__, "deepdream_lib."):
        if not info.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(info.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        importlib.import_module("deepdream_lib.dream")  # the engine's 0.1 path
    assert isinstance(dd.dream, types.FunctionType) and dd.dream.__module__ == "deepdream_lib.engine"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("deepdream_lib.dream", "deepdream_lib.engine"),
        ("deepdream_lib.checks.lesson01", "deepdream_lib.course.checks.lesson01"),
        ("deepdream_lib.loop_lab", "deepdream_lib.lessons.loop_lab"),
        ("deepdream_lib.grading", "deepdream_lib.course.grading"),
    ],
)
def test_old_module_paths_still_import_with_a_warning(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_old_attribute_paths_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning, match="deepdream_lib.lessons.toy"):
        toy = dd.toy
    assert toy is importlib.import_module("deepdream_lib.lessons.toy")


def test_every_public_name_resolves_and_is_documented():
    for name in dd.__all__:
        value = getattr(dd, name)
        if name != "__version__":
            assert getattr(value, "__doc__", None), f"dd.{name} has no docstring"
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        dd.no_such_name  # noqa: B018
