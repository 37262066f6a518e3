"""The ``ledger:`` earlier versions of the config wrote, read from git (issue 25).

>>> versions, unchecked = earlier_versions(config, base="main", ids={1234})   # doctest: +SKIP
>>> versions[0].ledger                                                      # doctest: +SKIP
'sqlite:///.mktsync/ledger.db'

The witnesses of where these campaigns were recorded before, all from reviewed commits:

- **this config's own earlier version**, followed through renames and moves.  With a base
  branch (``--base REF``, ``$GITHUB_BASE_REF``, ``$CI_MERGE_REQUEST_TARGET_BRANCH_NAME``):
  the base's file at this path, else the file this diff renamed or copied into it
  (``git diff -M -C BASE...HEAD``).  Without one: the newest earlier version on the
  first-parent line of ``git log --follow`` (the versions earlier applies ran) whose
  ``ledger:`` is written differently or sits in another folder;
- **every other config file that declares one of these campaign ids**: in the base
  branch's tree, or without a base in ``HEAD``'s tree and in the tree just before this
  config was added.  So a config renamed beyond git's rename detection, copied under a new
  name (``MKTSYNC_CONFIG``, ``-C``), or kept beside the old one is still compared with the
  ledger the old file named.  (``history`` keeps such a file only when its ledger was read
  and holds sends, or names a database this checkout cannot read.)

One rule with or without ``--env``: a version is read as that file runs for this
config's environment (``_view``): ``environments.E`` merged over the top level when the
file declares ``E``, else its top level (what its runs used before ``E`` existed; the
top level alone without ``--env``).  It is a witness only for the campaign ids it shares
with this config (``Version.ids``), on the same instance (``marketo.base_url`` as
written): another environment's or another instance's campaigns are no evidence.

A ``ledger:`` is compared as the place it names: written the same but read from another
folder (the config moved to a subfolder) is another ledger.  ``Version.folder`` is that
file's folder in this checkout, where its relative ``sqlite:///`` path leads.

Only local questions are asked (``rev-parse``, ``diff``, ``log``, ``grep``, ``cat-file``):
nothing is fetched, and a blob is read as stored (no textconv, no filters).  No git, not a
repository, an unknown ref, a version that does not parse: nothing, never an error.
"""

from __future__ import annotations

import functools
import os
import posixpath
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mktsync.config.model import Config

BASE_VARIABLES = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
HISTORY_DEPTH = 50  # versions of the config looked at without a base ref
OTHER_CONFIGS = 100  # other files mentioning campaign_id read from one tree, at most
_GIT_TIMEOUT = 10.0

Kind = Literal["base_branch", "previous_config"]


@dataclass(frozen=True, kw_only=True)
class Version:
    """The ``ledger:`` an earlier config wrote (for this environment), and where.

    ``path`` is that file's path in the repository when it is not this config's path
    (renamed, moved, or another file: ``other``); ``folder`` is its folder in this
    checkout, against which its relative ``sqlite:///`` path is read.
    """

    kind: Kind
    ref: str  # the base ref as given, or the commit (12 hex digits)
    ledger: str
    folder: Path
    path: str | None = None
    other: bool = False  # another config file declaring these campaigns
    ids: frozenset[int] = frozenset()  # the campaign ids it shares with this config


def earlier_versions(
    config: Config, base: str | None = None, ids: Iterable[int] = ()
) -> tuple[tuple[Version, ...], tuple[str, str] | None]:
    """The ledgers earlier, reviewed configs of these campaigns named (see the module).

    Returns ``(versions, unchecked)``: ``versions`` names a ledger other than the
    config's own (written otherwise, or read from another folder), this config's own
    version first; ``unchecked`` is the base asked for, and where it was named, when it is
    not in this checkout.
    """
    folder = config.path.absolute().parent
    commit: str | None = None
    asked = base_ref(base)
    if asked is not None:
        commit = _resolve(folder, asked[0], guess_merge=asked[1] != "--base")
        if commit is None:
            return (), asked
    where = _where(folder, config.path.name)
    if where is None:
        return (), None
    root, own = where
    here = Path(os.path.realpath(folder))
    base_url = config.marketo.base_url
    found = _Found(
        config=config,
        root=root,
        here=here,
        own=own,
        ids=frozenset(ids),
        instance=None if base_url is None else base_url.raw,
    )
    if asked is not None and commit is not None:
        _from_base(found, asked[0], commit)
    else:
        _from_history(found)
    return tuple(found.versions), None


def _from_base(found: _Found, ref: str, commit: str) -> None:
    """The base's version of the config (at its path, else the file this diff renamed or
    copied into it), then every other config of the base declaring these campaigns."""
    own, root = found.own, found.root
    old = own if _blob(root, commit, own) is not None else _renamed_from(root, commit, own)
    if old is not None:
        found.add(kind="base_branch", ref=ref, commit=commit, path=old)
    found.others(kind="base_branch", ref=ref, commit=commit, skip={old})


def _from_history(found: _Found) -> None:
    """The newest earlier version naming another ledger (renames followed), then every
    other config declaring these campaigns in HEAD and before this config was added."""
    history = list(_followed(found.root, found.own))
    for commit, path, _ in history:
        if found.add(kind="previous_config", ref=commit[:12], commit=commit, path=path):
            break
    trees = [_git(found.root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")]
    if history and len(history) < HISTORY_DEPTH and history[-1][2] == "A":
        # The config was added there: the tree before it holds the file it replaced.
        added = history[-1][0]
        trees.append(_git(found.root, "rev-parse", "--verify", "--quiet", f"{added}^1^{{commit}}"))
    for tree in trees:
        if tree and tree.strip():
            commit = tree.strip()
            found.others(kind="previous_config", ref=commit[:12], commit=commit)


@dataclass(kw_only=True)
class _Found:
    """The versions gathered, each ledger (as written, in its folder) once."""

    config: Config
    root: Path
    here: Path  # the config's folder, real path
    own: str  # the config's path in the repository
    ids: frozenset[int]  # a version witnesses only for the ids it shares with these
    instance: str | None = None  # this config's marketo.base_url as written
    versions: list[Version] = field(default_factory=list)
    seen: set[tuple[str, Path]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.seen.add((self.config.ledger.raw, self.here))  # the ledger in use

    def add(self, *, kind: Kind, ref: str, commit: str, path: str, other: bool = False) -> bool:
        """Add the version of ``path`` at ``commit`` if it names another ledger (a file at
        another path -- renamed, copied, another config -- only if it declares one of
        these campaigns)."""
        text = _blob(self.root, commit, path)
        view = None if text is None else _view(text, self.config.environment)
        if view is None:
            return False
        written, ids, instance = view
        shared = ids & self.ids
        if not shared and (path != self.own or self.ids):
            return False  # other campaigns (another environment's ids): no witness
        if instance is not None and self.instance is not None and instance != self.instance:
            return False  # another Marketo instance: its sends are not these campaigns'
        folder = Path(os.path.realpath(self.root / posixpath.dirname(path)))
        if (written, folder) in self.seen:
            return False
        self.seen.add((written, folder))
        self.versions.append(
            Version(
                kind=kind,
                ref=ref,
                ledger=written,
                folder=folder,
                path=None if path == self.own else path,
                other=other,
                ids=frozenset(shared),
            )
        )
        return True

    def others(
        self,
        *,
        kind: Kind,
        ref: str,
        commit: str,
        skip: Iterable[str | None] = (),
    ) -> None:
        """Add every other config file in ``commit``'s tree declaring one of the ids."""
        if not self.ids:
            return
        skipped = {self.own, *skip}
        for path in _mentioning(self.root, commit, "campaign_id"):
            if path not in skipped:
                self.add(kind=kind, ref=ref, commit=commit, path=path, other=True)


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


def _where(folder: Path, name: str) -> tuple[Path, str] | None:
    """The repository's top folder (real path) and ``name``'s path in it, or None."""
    top = _git(folder, "rev-parse", "--show-toplevel")
    prefix = _git(folder, "rev-parse", "--show-prefix")
    if not top or prefix is None:
        return None
    return Path(os.path.realpath(top.strip())), prefix.strip() + name


def _blob(root: Path, commit: str, path: str) -> str | None:
    """The text of ``path`` at ``commit``, as stored; None when it is not there."""
    return _git(root, "cat-file", "blob", f"{commit}:{path}")


def _renamed_from(root: Path, commit: str, path: str) -> str | None:
    """The file of ``commit`` this diff renamed or copied into ``path``, if any."""
    for span in (f"{commit}...HEAD", commit):  # no merge base (a shallow clone): the trees
        out = _git(root, "diff", "--name-status", "-z", "-M", "-C", "--no-ext-diff", span, "--")
        if out is not None:
            break
    fields = iter((out or "").split("\0"))
    for status in fields:
        if not status:
            continue
        if status[0] in "RC":
            source, target = next(fields, ""), next(fields, "")
            if target == path:
                return source
        else:
            next(fields, "")
    return None


def _followed(root: Path, path: str) -> Iterator[tuple[str, str, str]]:
    """``(commit, path there, status)`` of ``path``'s versions, newest first, on the
    first-parent line, following renames (``git log --follow``)."""
    out = _git(
        root,
        "log",
        "--first-parent",
        "--follow",
        f"-n{HISTORY_DEPTH}",
        "--format=%x01%H",
        "--name-status",
        "-z",
        "--",
        path,
    )
    for record in (out or "").split("\x01"):
        fields = [f.strip("\n") for f in record.split("\0")]
        fields = [f for f in fields if f]
        if len(fields) < 3:
            continue  # a commit whose diff does not show the file (a merge): its tree does
        commit, status, *paths = fields
        yield commit, paths[-1], status[0]


def _mentioning(root: Path, commit: str, word: str) -> list[str]:
    """Paths of ``commit``'s text files containing ``word``: YAML first, at most
    ``OTHER_CONFIGS``."""
    out = _git(root, "grep", "-l", "-I", "-z", "-F", "-e", word, commit, "--")
    prefix = f"{commit}:"
    paths = [p.removeprefix(prefix) for p in (out or "").split("\0") if p]
    paths.sort(key=lambda p: (not p.endswith((".yaml", ".yml")), p))
    return paths[:OTHER_CONFIGS]


@functools.lru_cache(maxsize=4)  # a file is asked for its ids, then its ledger
def _document(text: str) -> object:
    from mktsync.config.yamlfile import parse_document
    from mktsync.errors import ConfigError

    try:
        return parse_document(text.encode("utf-8"), "earlier config").data
    except ConfigError:
        return None


def _view(text: str, environment: str | None) -> tuple[str, set[int], str | None] | None:
    """``(ledger, campaign ids, base_url)`` as written, of a config version run for
    ``environment``: that environment merged over the top level when the file declares it,
    else the top level (the module says why); None if it is not a config."""
    from mktsync.config.dburl import DEFAULT_LEDGER

    data = _document(text)
    if not isinstance(data, dict) or not isinstance(data.get("campaigns", {}), dict):
        return None
    environments = data.get("environments")
    spec = environments.get(environment) if isinstance(environments, dict) else None
    env = spec if environment and isinstance(spec, dict) else {}
    ledger = env.get("ledger") if env else data.get("ledger", DEFAULT_LEDGER)
    if not isinstance(ledger, str):
        return None
    marketo = {**_mapping(data.get("marketo")), **_mapping(env.get("marketo"))}
    base_url = marketo.get("base_url")
    return ledger, _campaign_ids(data, env), base_url if isinstance(base_url, str) else None


def _campaign_ids(data: dict[str, object], env: dict[str, object]) -> set[int]:
    """The campaign ids a config declares (campaigns and schedules), ``env``'s overrides
    written over them."""
    ids: set[int] = set()
    for section in ("campaigns", "schedules"):
        overrides = _mapping(env.get(section))
        for name, entry in _mapping(data.get(section)).items():
            value = entry.get("campaign_id") if isinstance(entry, dict) else None
            override = overrides.get(name)
            if isinstance(override, dict) and "campaign_id" in override:
                value = override["campaign_id"]
            if isinstance(value, int) and not isinstance(value, bool):
                ids.add(value)
    return ids


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}
