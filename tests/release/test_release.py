"""A release to pin (issue 22.2): one version, a changelog that names it, every pinned
reference at it, a lock file that covers what pyproject.toml declares, nothing installed
by name where the secrets are, and the release built by the script CI runs."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mktsync import __version__

REPO = Path(__file__).resolve().parent.parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
CHANGELOG = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
# Where users are told which mktsync to take.
PINNING_FILES = [
    REPO / "README.md",
    REPO / "action.yml",
    REPO / ".pre-commit-hooks.yaml",
    *sorted((REPO / "docs").glob("*.md")),
    *sorted((REPO / "examples").rglob("*.yml")),
]
PIN = re.compile(r"(?:mktsync@|rev: |MKTSYNC_REF: |/mktsync/blob/)v(\d+\.\d+\.\d+)")


def release_notes() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "release_notes", REPO / "tools" / "release_notes.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_version_is_written_once() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mktsync.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_the_changelog_keeps_a_changelog_and_names_this_version() -> None:
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", CHANGELOG, re.M)
    assert headings[0] == ("Unreleased", "")
    releases = [v for v, date in headings[1:] if date]
    assert len(releases) == len(headings) - 1  # every release is dated
    assert releases[0] == __version__  # the newest release is this version
    for version, _ in headings:
        assert re.search(rf"^\[{re.escape(version)}\]: https://", CHANGELOG, re.M), version
    notes = release_notes().section(CHANGELOG, __version__)
    assert notes and "### Changed" in notes and "CI=true" in notes
    assert release_notes().section(CHANGELOG, "9.9.9") is None


def test_release_notes_tool_refuses_an_undescribed_version(tmp_path: Path) -> None:
    tool = str(REPO / "tools" / "release_notes.py")
    run = subprocess.run(["python3", tool, f"v{__version__}"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("The first tagged release")
    run = subprocess.run(["python3", tool, "v9.9.9"], capture_output=True, text=True)
    assert run.returncode == 1 and "no section for v9.9.9" in run.stderr


@pytest.mark.parametrize("path", PINNING_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_pinned_reference_names_this_version(path: Path) -> None:
    for version in PIN.findall(path.read_text(encoding="utf-8")):
        assert version == __version__, f"{path.name} pins v{version}, not v{__version__}"


def test_the_docs_say_how_to_pin() -> None:
    ci = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    assert f"uses: OWNER/mktsync@v{__version__}" in ci
    assert f"'mktsync[sql] @ git+https://github.com/OWNER/mktsync@v{__version__}'" in ci
    assert f"rev: v{__version__}" in (REPO / "docs" / "editors.md").read_text(encoding="utf-8")


def locked() -> dict[str, tuple[str, list[str]]]:
    """requirements/ci.txt: name -> (version, hashes)."""
    text = (REPO / "requirements" / "ci.txt").read_text(encoding="utf-8")
    found = {}
    for block in re.split(r"\n(?=\S)", text):
        m = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if m:
            found[canonicalize_name(m.group(1))] = (
                m.group(2),
                re.findall(r"--hash=sha256:(\w+)", block),
            )
    return found


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    """A dependency added to pyproject.toml but not locked would fail the action's install
    (--require-hashes); this says so before a release does (bash tools/lock.sh)."""
    pins = locked()
    project = PYPROJECT["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["sql"],
                *project["optional-dependencies"]["postgres"], *PYPROJECT["build-system"]["requires"]]  # fmt: skip
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements/ci.txt: run bash tools/lock.sh"
        assert requirement.specifier.contains(pins[name][0]), (name, pins[name][0])
        for extra in requirement.extras:  # psycopg[binary]
            assert canonicalize_name(f"{name}-{extra}") in pins, f"{name}[{extra}]"
    assert all(len(hashes) >= 1 for _, hashes in pins.values())
    header = (REPO / "requirements" / "ci.txt").read_text(encoding="utf-8")
    assert "pip-compile" in header and "--generate-hashes" in header


def install_lines() -> list[tuple[str, str]]:
    """Every pip install in the files CI users copy: (where, line)."""
    found = []
    scripts = [
        ("action.yml", s.get("run", ""))
        for s in yaml.safe_load((REPO / "action.yml").read_text())["runs"]["steps"]
    ]
    for path in sorted((REPO / "examples").rglob("*.yml")):
        scripts.append((path.name, path.read_text(encoding="utf-8")))
    for where, text in scripts:
        for line in text.splitlines():
            if re.search(r"\bpip(3)?\b.*\binstall\b", line) and not line.lstrip().startswith("#"):
                found.append((where, line.strip()))
    return found


def test_nothing_is_installed_by_name_where_the_secrets_are() -> None:
    """Whoever registered a name would run beside the Marketo secrets: every install is
    the lock with hashes, or mktsync's own checkout (a path) without dependencies."""
    lines = install_lines()
    assert len(lines) >= 4
    for where, line in lines:
        words = shlex.split(line.split(" install ", 1)[1])
        if "-r" in words:
            assert "--require-hashes" in words, (where, line)
            continue
        assert "--no-deps" in words, (where, line)
        targets = [w for w in words if not w.startswith("-")]
        assert targets and all(t.startswith("$") for t in targets), (where, line)  # a path


def test_the_version_input_is_refused(tmp_path: Path) -> None:
    """The action no longer installs a version by name: setting `version:` is an error."""
    (step,) = [
        s
        for s in yaml.safe_load((REPO / "action.yml").read_text())["runs"]["steps"]
        if s.get("name") == "Install mktsync"
    ]
    run = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env={"PATH": os.environ["PATH"], "INPUT_VERSION": "0.1.0", "RUNNER_TEMP": str(tmp_path),
             "GITHUB_ACTION_PATH": str(REPO), "GITHUB_PATH": str(tmp_path / "path")},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    assert "::error::mktsync action: the 'version' input is gone" in run.stdout
    assert not (tmp_path / "mktsync-venv").exists()


def test_ci_and_the_release_build_with_one_script() -> None:
    assert "bash .ci/package.sh" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    release = yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text())
    on = release.get("on", release.get(True))
    assert on == {"push": {"tags": ["v*.*.*"]}}
    assert release["permissions"] == {"contents": "read"}
    build, pypi, github = (release["jobs"][j] for j in ("build", "pypi", "github-release"))
    assert any(s.get("run") == "bash .ci/package.sh dist" for s in build["steps"])
    assert pypi["permissions"] == {"id-token": "write"}  # trusted publishing, nothing else
    assert pypi["environment"]["name"] == "pypi"
    assert any(
        str(s.get("uses", "")).startswith("pypa/gh-action-pypi-publish@") for s in pypi["steps"]
    )
    assert github["permissions"] == {"contents": "write"}
    assert (
        "gh release create" in github["steps"][-1]["run"] and "dist/*" in github["steps"][-1]["run"]
    )
    assert pypi["needs"] == github["needs"] == "build"


def test_a_tag_that_is_not_the_version_is_not_built(tmp_path: Path) -> None:
    run = subprocess.run(
        ["bash", str(REPO / ".ci" / "package.sh"), str(tmp_path / "dist")],
        env={**os.environ, "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v9.9.9"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    assert f"the tag v9.9.9 is not v{__version__}" in run.stderr
    assert not (tmp_path / "dist").exists()


def test_pre_commit_can_install_the_tagged_repository() -> None:
    """pre-commit installs a `language: python` hook with `pip install .` of the repository
    at `rev:`, then runs `entry`: the entry must be a console script the project declares."""
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["language"] == "python"
    assert hook["entry"].split()[0] in PYPROJECT["project"]["scripts"]
    assert PYPROJECT["build-system"]["build-backend"] == "setuptools.build_meta"
