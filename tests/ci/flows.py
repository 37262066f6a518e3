"""What the workflow tests share: the repository a team keeps, mktsync at its tag, a machine.

- ``release_tree``: this checkout as the release the workflows pin (``OWNER/mktsync@v0.2.0``):
  a git repository of the working tree's files, tagged ``v`` + the version. The action
  runs from it (``$GITHUB_ACTION_PATH``) and GitLab fetches it (``MKTSYNC_REPOSITORY``).
- ``Team``: the repository holding ``campaigns.yaml`` (the example, as shipped), with a
  main branch and pull requests, as a bare-bones git origin the checkouts clone.
- ``machine_env``: the runner machine's environment: this one without anything of
  mktsync's (no ``mktsync`` on PATH, no ``MARKETO_*``/``MKTSYNC_*``/``GITHUB_*``/``CI``), so
  every ``mktsync`` a workflow runs is the one it installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mktsync import __version__

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
NEW_REGISTRANT = (
    "new.registrant@example.com,,New,Registrant,registered,wb-102,Data Contracts for "
    "Marketers,NEWCODE1,https://cdn.example.com/webinars/wb-102.png,2026-11-20T09:00:00Z\n"
)


def git(cwd: Path, *argv: str) -> str:
    run = subprocess.run(
        ["git", "-C", str(cwd), *argv],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **GIT_IDENTITY, "HOME": str(cwd)},
    )
    assert run.returncode == 0, f"git {' '.join(argv)}: {run.stderr}"
    return run.stdout.strip()


def make_release_tree(where: Path) -> Path:
    """This working tree's files (tracked, and new ones not ignored) committed and tagged."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    where.mkdir(parents=True)
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / name)
    git(where, "init", "--quiet", "--initial-branch=main")
    git(where, "add", "-A")
    git(where, "commit", "--quiet", "-m", f"mktsync {__version__}")
    git(where, "tag", "-a", f"v{__version__}", "-m", f"mktsync {__version__}")
    return where


def machine_env() -> dict[str, str]:
    """This machine's environment as a runner's: nothing of mktsync's in it."""
    path = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not (Path(d) / "mktsync").exists()
    ]
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MARKETO_", "MKTSYNC_", "GITHUB_", "GITLAB_", "CI_", "RUNNER_"))
        and k not in ("CI", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_CURRENT_TEST")
    }
    return {**keep, "PATH": os.pathsep.join(path)}


def write_standins(where: Path) -> Path:
    """A folder for PATH holding the ``gh`` stand-in (``fake_github.py``)."""
    where.mkdir(parents=True, exist_ok=True)
    gh = where / "gh"
    gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "fake_github.py"}" "$@"\n')
    gh.chmod(0o755)
    return where


@dataclass(frozen=True)
class Team:
    """The team's repository: ``origin`` (what checkouts clone), and its commits."""

    origin: Path

    @classmethod
    def create(cls, where: Path) -> Team:
        """``main`` holding the example ``campaigns.yaml`` and ``data/`` exactly as shipped."""
        where.mkdir(parents=True)
        shutil.copy(REPO / "campaigns.yaml", where / "campaigns.yaml")
        shutil.copytree(REPO / "data", where / "data")
        (where / ".gitignore").write_text(".mktsync/\n", encoding="utf-8")
        git(where, "init", "--quiet", "--initial-branch=main")
        # Checkouts fetch single commits (a pull request's merge commit), as GitHub serves.
        git(where, "config", "uploadpack.allowAnySHA1InWant", "true")
        git(where, "add", "-A")
        git(where, "commit", "--quiet", "-m", "campaigns as shipped")
        return cls(origin=where)

    @property
    def main(self) -> str:
        return git(self.origin, "rev-parse", "main")

    def git_head(self, branch: str) -> str:
        return git(self.origin, "rev-parse", branch)

    def branch(self, name: str, change: Callable[[Path], None], message: str) -> str:
        """A branch off main with one commit made by ``change(folder)``; its head commit."""
        git(self.origin, "branch", name, "main")
        return self.commit(name, change, message)

    def commit(self, name: str, change: Callable[[Path], None], message: str) -> str:
        """One more commit on the branch, made by ``change(folder)``; its head commit."""
        git(self.origin, "checkout", "--quiet", name)
        change(self.origin)
        git(self.origin, "add", "-A")
        git(self.origin, "commit", "--quiet", "-m", message)
        head = git(self.origin, "rev-parse", "HEAD")
        git(self.origin, "checkout", "--quiet", "main")
        return head

    def test_merge(self, name: str) -> str:
        """The commit a pull request's run checks out: the branch merged into main, off to
        the side (GitHub's ``refs/pull/N/merge``); main does not move."""
        git(self.origin, "checkout", "--quiet", "-B", f"pull/{name}/merge", "main")
        git(self.origin, "merge", "--quiet", "--no-ff", "-m", f"Merge {name} into main", name)
        sha = git(self.origin, "rev-parse", "HEAD")
        git(self.origin, "checkout", "--quiet", "main")
        return sha

    def merge(self, name: str) -> str:
        """Merge the branch into main (a merge commit, as GitHub's merge button makes)."""
        git(self.origin, "merge", "--quiet", "--no-ff", "-m", f"Merge {name}", name)
        return self.main


def add_registrant(folder: Path) -> None:
    with (folder / "data" / "registrations.csv").open("a", encoding="utf-8") as f:
        f.write(NEW_REGISTRANT)
