"""Fixtures of the workflow tests (``flows``): mktsync at its tag, stand-ins, emulators."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_github import FakeGitHub
from flows import REPO, Team, add_registrant, machine_env, make_release_tree, write_standins
from github_runner import Runner
from gitlab_runner import FakeGitLab, machine_with_python
from gitlab_runner import Runner as GitLabRunner

from mktsync.cli.demo import seed_for
from mktsync.config import load_config
from mktsync.emulator import Emulator, serve


@pytest.fixture(scope="session")
def release_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_release_tree(tmp_path_factory.mktemp("mktsync") / "release")


@pytest.fixture(scope="session")
def machine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The runner machine's environment, with the stand-ins (``gh``) first on PATH."""
    env = machine_env()
    bin_dir = write_standins(tmp_path_factory.mktemp("standins"))
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}"}


@pytest.fixture(scope="session")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture
def team(tmp_path: Path) -> Team:
    return Team.create(tmp_path / "origin")


@pytest.fixture
def github(tmp_path: Path) -> FakeGitHub:
    return FakeGitHub(root=tmp_path / "github.com")


@pytest.fixture
def runner(
    tmp_path: Path,
    github: FakeGitHub,
    team: Team,
    release_tree: Path,
    machine: dict[str, str],
    runner_temp: Path,
) -> Runner:
    return Runner(
        github=github,
        origin=team.origin,
        action=release_tree,
        work=tmp_path / "runner",
        temp=runner_temp,
        env=machine,
    )


def _serve(where: Path, environment: str) -> Iterator[Emulator]:
    """An instance that knows every lead of the example, and the pull requests' new one."""
    where.mkdir()
    shutil.copy(REPO / "campaigns.yaml", where / "campaigns.yaml")
    shutil.copytree(REPO / "data", where / "data")
    add_registrant(where)
    config = load_config(where / "campaigns.yaml", environment=environment)
    with serve(seed=seed_for(config)) as emulator:
        yield emulator


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Emulator]:
    """The production Marketo instance, seeded for the example's production campaigns."""
    yield from _serve(tmp_path / "production-seed", "production")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Emulator]:
    """The sandbox instance: another Marketo, seeded for the sandbox's campaigns."""
    yield from _serve(tmp_path / "sandbox-seed", "sandbox")


@pytest.fixture(scope="session")
def gitlab_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GitLab runner machine's TMPDIR: the pipeline makes its venv there, once."""
    return tmp_path_factory.mktemp("gitlab-tmp")


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab().serve() as served:
        yield served


@pytest.fixture
def gitlab_runner(
    tmp_path: Path,
    team: Team,
    gitlab: FakeGitLab,
    gitlab_tmpdir: Path,
    machine: dict[str, str],
    release_tree: Path,
) -> GitLabRunner:
    return GitLabRunner(
        pipeline_file=REPO / "examples" / "gitlab" / ".gitlab-ci.yml",
        origin=team.origin,
        gitlab=gitlab,
        work=tmp_path / "gitlab-runner",
        tmpdir=gitlab_tmpdir,
        env=machine_with_python(machine, tmp_path / "python"),
        # Where the pipeline fetches mktsync from: its repository, at the tag it pins.
        project_variables={"MKTSYNC_REPOSITORY": f"file://{release_tree}"},
    )
