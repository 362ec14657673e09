"""environment.yml and pyproject.toml describe the same environment, and a learner's install stays lean.

Every runtime dependency and every extra (``course``, ``dev``, ``video``) of ``pyproject.toml`` appears in
``environment.yml`` (its ``pip:`` section or its conda list), and every package there appears in
``pyproject.toml``, with compatible version specifiers: the same specifier set, or an exact pin on one
side that the other side allows. An extra that names the project itself (``dev`` includes
``deepdream_lib[course,video]``) stands for those extras. conda's Python must satisfy
``requires-python``. The course's tooling (running and grading notebooks) is the ``course`` extra, not a
learner's runtime dependency. The comparator is also run on a made-up mismatch, to show that it can fail.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")
ROOT = Path(__file__).resolve().parents[1]
CONDA_ONLY = {"python", "pip"}  # the interpreter and the installer: conda's business, not pyproject's
TOOLING = {"nbformat", "nbclient", "psutil"}  # the grader, the book and tools/ need them; a learner does not
LEARNER = {"ipykernel", "ipywidgets"}  # what a learner's JupyterLab needs for the lessons and their widgets


def _add(table: dict[str, list[Requirement]], requirement: Requirement) -> None:
    table.setdefault(canonicalize_name(requirement.name), []).append(requirement)


def project_requirements(project: dict) -> dict[str, list[Requirement]]:
    """Runtime dependencies and every optional extra, by canonical name (the project's own extras, as in
    ``deepdream_lib[course]``, are counted where they are defined, not again)."""
    own = canonicalize_name(project.get("name", ""))
    table: dict[str, list[Requirement]] = {}
    lists = [project.get("dependencies", [])] + list(project.get("optional-dependencies", {}).values())
    for line in (line for group in lists for line in group):
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) != own:
            _add(table, requirement)
    return table


def self_references(project: dict) -> dict[str, set[str]]:
    """For each extra, the extras of the project itself that it includes (``dev`` -> {course, video})."""
    own = canonicalize_name(project.get("name", ""))
    return {
        extra: {name for line in lines for name in Requirement(line).extras
                if canonicalize_name(Requirement(line).name) == own}
        for extra, lines in project.get("optional-dependencies", {}).items()
    }


def conda_requirement(spec: str) -> Requirement:
    """A conda spec as a pip requirement: ``numpy=1.26`` -> ``numpy==1.26.*``; ``numpy>=1.26`` as is."""
    spec = spec.split("#")[0].strip().replace(" ", "")
    name, sep, version = spec.partition("=")
    if sep and not version.startswith("=") and not name.endswith(("<", ">", "!", "~")):
        return Requirement(f"{name}=={version}" + ("" if version.endswith("*") else ".*"))
    return Requirement(spec)


def environment_requirements(env: dict) -> tuple[dict[str, list[Requirement]], list[str], list[str]]:
    """(pip and conda requirements by name, conda-only entries, local installs such as ``-e .``)."""
    table: dict[str, list[Requirement]] = {}
    conda_only, local = [], []
    for entry in env.get("dependencies", []):
        if isinstance(entry, dict):
            for line in entry.get("pip", []):
                if line.startswith(("-e", ".", "/", "file:")):
                    local.append(line)
                else:
                    _add(table, Requirement(line))
        elif canonicalize_name(conda_requirement(entry).name) in CONDA_ONLY:
            conda_only.append(entry)
        else:
            _add(table, conda_requirement(entry))
    return table, conda_only, local


def _pinned_version(specifiers: SpecifierSet) -> Version | None:
    """The version of a lone ``==X`` (or ``==X.*``) pin, else None."""
    items = list(specifiers)
    if len(items) == 1 and items[0].operator in ("==", "==="):
        return Version(items[0].version.removesuffix(".*"))
    return None


def compatible(a: SpecifierSet, b: SpecifierSet) -> bool:
    """Same specifiers, or one side pins a version that the other side allows."""
    if a == b:
        return True
    for pinned, other in ((a, b), (b, a)):
        version = _pinned_version(pinned)
        if version is not None and other.contains(version, prereleases=True):
            return True
    return False


def mismatches(project: dict[str, list[Requirement]], env: dict[str, list[Requirement]]) -> list[str]:
    """Every disagreement between the two tables, as sentences (empty: they agree)."""
    problems = [f"{name} is in pyproject.toml but not in environment.yml" for name in project.keys() - env]
    problems += [f"{name} is in environment.yml but not in pyproject.toml" for name in env.keys() - project]
    for name in sorted(project.keys() & env.keys()):
        for ours in project[name]:
            for theirs in env[name]:
                if not compatible(ours.specifier, theirs.specifier) or ours.extras != theirs.extras:
                    problems.append(f"{name}: pyproject.toml says '{ours}', environment.yml says '{theirs}'")
    return sorted(problems)


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]


@pytest.fixture(scope="module")
def environment() -> dict:
    path = ROOT / "environment.yml"
    if not path.is_file():
        pytest.skip("environment.yml is not written yet")
    with open(path, encoding="utf-8") as file:
        return yaml.safe_load(file)


def test_environment_and_pyproject_agree(pyproject: dict, environment: dict) -> None:
    env, _, _ = environment_requirements(environment)
    assert mismatches(project_requirements(pyproject), env) == []


def test_tooling_is_the_course_extra_and_dev_includes_it(pyproject: dict) -> None:
    runtime = {canonicalize_name(Requirement(line).name) for line in pyproject["dependencies"]}
    extras = pyproject["optional-dependencies"]
    course = {canonicalize_name(Requirement(line).name) for line in extras["course"]}
    assert runtime & TOOLING == set() and course == TOOLING
    assert LEARNER <= runtime  # JupyterLab can run the lessons and show their widgets
    included = self_references(pyproject)
    assert "course" in included["dev"]  # tools/setup.sh and the book's CI install .[dev]
    assert all(name in extras for names in included.values() for name in names), included


def test_conda_python_satisfies_requires_python(pyproject: dict, environment: dict) -> None:
    _, conda_only, _ = environment_requirements(environment)
    pythons = [conda_requirement(entry) for entry in conda_only if entry.startswith("python")]
    assert pythons, "environment.yml should say which Python (e.g. python=3.11)"
    allowed = SpecifierSet(pyproject["requires-python"])
    assert all(compatible(python.specifier, allowed) for python in pythons), (pythons, allowed)


def test_environment_installs_the_course_library(environment: dict) -> None:
    _, conda_only, local = environment_requirements(environment)
    assert "pip" in conda_only and local == ["-e ."]


def test_each_environment_dependency_says_why_it_is_there(environment: dict) -> None:
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    lines = text.split("\ndependencies:", 1)[-1].splitlines()  # not the channels
    entries = [line for line in lines if line.strip().startswith("- ") and not line.strip().endswith(":")]
    uncommented = [line.strip() for line in entries if "#" not in line and line.strip() != "- pip"]
    assert uncommented == []


# --- the comparator can fail -----------------------------------------------------------------------


def test_comparator_reports_a_made_up_mismatch() -> None:
    fake = {
        "name": "made_up",
        "dependencies": ["numpy>=1.26", "Pillow>=10", "tqdm>=4.66"],
        "optional-dependencies": {"dev": ["made-up[tools]", "ruff>=0.6", "pytest>=8"],
                                  "tools": ["pyyaml>=6"]},
    }
    project = project_requirements(fake)
    assert self_references(fake) == {"dev": {"tools"}, "tools": set()}
    env, conda_only, local = environment_requirements(
        {
            "dependencies": [
                "python=3.11",
                "pip",
                "tqdm=4.66",  # conda pin, inside pyproject's range
                {"pip": ["numpy>=2", "pillow==10.4.0", "pytest==7.4", "scipy>=1.11", "-e ."]},
            ]
        }
    )
    assert conda_only == ["python=3.11", "pip"] and local == ["-e ."]
    assert mismatches(project, env) == [
        "numpy: pyproject.toml says 'numpy>=1.26', environment.yml says 'numpy>=2'",
        "pytest: pyproject.toml says 'pytest>=8', environment.yml says 'pytest==7.4'",
        "pyyaml is in pyproject.toml but not in environment.yml",
        "ruff is in pyproject.toml but not in environment.yml",
        "scipy is in environment.yml but not in pyproject.toml",
    ]  # Pillow (a pin in range, names differing in case) and tqdm (a conda pin in range) agree;
    # made-up[tools] is the project itself, not a package to install


def test_compatible_and_conda_specs() -> None:
    assert compatible(SpecifierSet(">=1,<2"), SpecifierSet("<2,>=1"))
    assert compatible(SpecifierSet("==1.5"), SpecifierSet(">=1,<2"))
    assert not compatible(SpecifierSet(">=1"), SpecifierSet(">=1,<2"))
    assert not compatible(SpecifierSet("==2.0"), SpecifierSet(">=1,<2"))
    assert str(conda_requirement("python=3.11")) == "python==3.11.*"
    assert str(conda_requirement("numpy >=1.26")) == "numpy>=1.26"
    assert compatible(conda_requirement("python=3.11").specifier, SpecifierSet(">=3.10"))
    assert not compatible(conda_requirement("python=3.9").specifier, SpecifierSet(">=3.10"))
    with pytest.raises(InvalidRequirement):
        Requirement("not a requirement ==")


# --- without the course extra ----------------------------------------------------------------------


def test_grade_without_the_course_extra_says_which_to_install(monkeypatch, capsys) -> None:
    """A learner's install (no nbclient): ``deepdream grade`` fails in one line naming the extra; the
    other subcommands still work."""
    from deepdream_lib import cli

    monkeypatch.setitem(sys.modules, "nbclient", None)  # `import nbclient` now fails, as if not installed
    for module in ("deepdream_lib.course.grading", "deepdream_lib.course.runner"):
        if module in sys.modules:
            monkeypatch.delitem(sys.modules, module)  # imported afresh, so the import fails
    for argv in (["grade", "--lesson", "03", "subs", "-o", "r.csv"], ["grade", "--help"]):
        assert cli.main(argv) == cli.EXIT_USAGE
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "'course' extra" in err and "nbclient" in err, err
        assert "pip install 'deepdream_lib[course]'" in err
    assert cli.main(["list-models", "--offline"]) == 0
    assert "vgg16_hed" in capsys.readouterr().out
