"""The ``ledger:`` an earlier version of the config wrote, read from git (issue 25).

>>> version, unchecked = previous_version(config, base="main")   # doctest: +SKIP
>>> version.ledger                                                # doctest: +SKIP
'sqlite:///.mktsync/ledger.db'

With a base branch (``--base REF``, ``$GITHUB_BASE_REF``,
``$CI_MERGE_REQUEST_TARGET_BRANCH_NAME``) the config is compared with the base's version:
what this diff changes.  Without one, with the newest earlier version on the first-parent
line of ``git log`` that names another ledger: on the main branch, the versions earlier
applies ran.

Only local questions are asked (``rev-parse``, ``log``, ``cat-file``): nothing is fetched,
and a blob is read as stored (no textconv, no filters).  No git, not a repository, an
unknown ref, a version that does not parse: None, never an error.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mktsync.config.model import Config

BASE_VARIABLES = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
HISTORY_DEPTH = 50  # versions of the config looked at without a base ref
_GIT_TIMEOUT = 10.0


@dataclass(frozen=True, kw_only=True)
class Version:
    """The ``ledger:`` an earlier version of the config wrote (for this environment)."""

    kind: Literal["base_branch", "previous_config"]
    ref: str  # the base ref as given, or the commit (12 hex digits)
    ledger: str


def previous_version(
    config: Config, base: str | None = None
) -> tuple[Version | None, tuple[str, str] | None]:
    """The config's ``ledger:`` in the base branch, or in its newest earlier version.

    Returns ``(version, unchecked)``: ``version`` None when there is nothing to compare
    (no git, no base and no earlier version that differs, the config is new in the
    diff); ``unchecked`` is the base asked for, and where it was named, when it is not in
    this checkout.
    """
    folder = config.path.absolute().parent
    name = config.path.name
    asked = base_ref(base)
    if asked is not None:
        ref, source = asked
        commit = _resolve(folder, ref, guess_merge=source != "--base")
        if commit is None:
            return None, (ref, source)
        text = _git(folder, "cat-file", "blob", f"{commit}:./{name}")
        written = None if text is None else _ledger_of(text, config.environment)
        if written is None:
            return None, None  # the config (or this environment) is new in this diff
        return Version(kind="base_branch", ref=ref, ledger=written), None
    log = _git(folder, "log", "--first-parent", f"-n{HISTORY_DEPTH}", "--format=%H", "--", name)
    for commit in (log or "").split():
        text = _git(folder, "cat-file", "blob", f"{commit}:./{name}")
        written = None if text is None else _ledger_of(text, config.environment)
        if written is not None and written != config.ledger.raw:
            return Version(kind="previous_config", ref=commit[:12], ledger=written), None
    return None, None


def base_ref(given: str | None) -> tuple[str, str] | None:
    """``(ref, where it came from)``: ``--base REF``, else the CI's target branch."""
    if given:
        return given, "--base"
    for variable in BASE_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value, f"${variable}"
    return None


def _resolve(folder: Path, ref: str, *, guess_merge: bool) -> str | None:
    """The commit ``ref`` names here: as given, else the remote-tracking branch.

    A GitHub pull-request checkout holds only the merge commit (and, with
    ``fetch-depth: 2``, its parents): the base branch is then its first parent.
    """
    if ref.startswith("-"):
        return None  # never an option to git
    for candidate in (ref, f"refs/remotes/origin/{ref}"):
        found = _git(folder, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        if found:
            return found.strip()
    if guess_merge and _git(folder, "rev-parse", "--verify", "--quiet", "HEAD^2^{commit}"):
        found = _git(folder, "rev-parse", "--verify", "--quiet", "HEAD^1^{commit}")
        return found.strip() if found else None
    return None


def _git(folder: Path, *args: str) -> str | None:
    """A local git question's answer, or None (no git, not a repository, no such object)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        proc = subprocess.run(
            # Local questions only; nothing the repository's config could turn into a
            # command (a file-system monitor, signature checks) runs for them.
            [
                "git",
                "-c",
                "core.fsmonitor=false",
                "-c",
                "log.showSignature=false",
                "--no-pager",
                *args,
            ],
            cwd=folder,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
            env=env,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace")


def _ledger_of(text: str, environment: str | None) -> str | None:
    """The ``ledger:`` an earlier version of the config wrote for ``environment``."""
    from mktsync.config.dburl import DEFAULT_LEDGER
    from mktsync.config.yamlfile import parse_document
    from mktsync.errors import ConfigError

    try:
        data = parse_document(text.encode("utf-8"), "earlier config").data
    except ConfigError:
        return None
    if not isinstance(data, dict):
        return None
    if environment:
        environments = data.get("environments")
        spec = environments.get(environment) if isinstance(environments, dict) else None
        ledger = spec.get("ledger") if isinstance(spec, dict) else None
    else:
        ledger = data.get("ledger", DEFAULT_LEDGER)
    return ledger if isinstance(ledger, str) else None
