"""A ledger that is new while its campaigns were sent before: said loudly (issue 25).

>>> found = new_ledger(config, ledger, url, written="sqlite:///data/new.db")  # doctest: +SKIP
>>> found.message                                                               # doctest: +SKIP
'the ledger sqlite:///data/new.db does not exist: every item is planned as new — the base
branch's ledger sqlite:///.mktsync/ledger.db holds 1,234 sends of these campaigns ...'

A ledger that does not exist, or exists but was never used (no item record, no run), makes
every item ``+ trigger``.  That is right for a brand-new project, and a disaster when
``ledger:`` was pointed at a new file: the next apply emails everyone again.  So when the
ledger is new, this module looks for evidence that the campaigns have history elsewhere:

- **the ledger moved**: the config's ``ledger:`` as written differs from the base branch's
  version of the config (``--base REF``, ``$GITHUB_BASE_REF``,
  ``$CI_MERGE_REQUEST_TARGET_BRANCH_NAME``) or, without a base, from the newest earlier
  version on the first-parent line of ``git log`` (the versions earlier applies ran); the
  old ledger's sends of these campaigns are counted when it can be read;
- **another environment's ledger** (``environments:``) holds sends of these campaigns.

Invariants:

- Nothing is created, written or fetched: ledgers are opened with ``create=False``; git is
  asked only local questions (``rev-parse``, ``log``, ``cat-file``), never to fetch.
- No new connection to anything a config file chose: another ledger is read only when it
  is an SQLite file inside the repository (``config.confine``), or -- for the base
  branch's or an earlier commit's ``ledger:``, which were reviewed and merged -- one whole
  ``${VAR}`` the workflow set (the connection the workflow made for this job).
  Environments of the config being planned (a pull request's own file) are read only as
  SQLite files inside the repository.
- Ledgers are shown as written, passwords redacted, never as a resolved ``${VAR}``.
- No git, no repository, an unknown ref, a config version that does not parse, a ledger
  that cannot be read: no evidence, never an error ("no evidence, no verdict").
- A ledger in use costs one query: the search runs only for a new one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mktsync.config.model import Config
    from mktsync.ledger.reader import LedgerReader

BASE_VARIABLES = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
HISTORY_DEPTH = 50  # versions of the config looked at without a base ref
MOVE_DOC = 'docs/ledger.md, "Moving the ledger"'
_GIT_TIMEOUT = 10.0

EvidenceKind = Literal["base_branch", "previous_config", "environment"]
State = Literal["absent", "empty"]


Show = Callable[[str], str]  # how a value from a config or the command line is written


def _plain(value: str) -> str:
    return value


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """One reason to think the campaigns were sent before, recorded in another ledger.

    ``sends``: the ``sent`` records of these campaigns in that ledger; None when it was
    not read (``unread`` says why).  ``in_use``: that ledger exists and was used (records
    or runs); None when not read.
    """

    kind: EvidenceKind
    ledger: str  # as written, password redacted
    ref: str | None = None  # the base ref, or the commit of the earlier config version
    environment: str | None = None
    config: str | None = None  # the config file's name, for the previous_config wording
    sends: int | None = None
    in_use: bool | None = None
    unread: str | None = None

    def describe(self, show: Show | None = None) -> str:
        """This evidence in words; ``show`` writes the values (Markdown: code spans)."""
        plain = show is None
        show = show or _plain
        ledger = show(self.ledger)
        if self.kind == "environment":
            name = self.environment or ""
            name = f"'{name}'" if plain else show(name)
            return (
                f"the ledger of environment {name}, {ledger}, holds "
                f"{_sends(self.sends or 0)} of these campaigns"
            )
        if self.kind == "base_branch":
            if self.sends:
                return f"the base branch's ledger {ledger} holds {_sends(self.sends)} of these campaigns"
            return (
                f"the ledger changed in this diff: the base branch {show(self.ref or '')} "
                f"has {ledger} ({self._detail()})"
            )
        config = show(self.config or "the config")
        named = f"{config} named the ledger {ledger} at commit {show(self.ref or '')}"
        if self.sends:
            return f"{named}, which holds {_sends(self.sends)} of these campaigns"
        return f"{named} ({self._detail()})"

    def _detail(self) -> str:
        if self.unread:
            return f"not read: {self.unread}"
        if self.in_use:
            return "in use, but holding no sends of these campaigns"
        return "holding nothing"

    def as_json(self) -> dict[str, Any]:
        fields = {
            "kind": self.kind,
            "ledger": self.ledger,
            "ref": self.ref,
            "environment": self.environment,
            "sends": self.sends,
            "in_use": self.in_use,
            "unread": self.unread,
        }
        return {k: v for k, v in fields.items() if v is not None or k == "sends"}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], config: str | None = None) -> Evidence:
        sends, in_use = data.get("sends"), data.get("in_use")
        return cls(
            kind=data["kind"],
            ledger=str(data["ledger"]),
            ref=data.get("ref"),
            environment=data.get("environment"),
            config=config,
            sends=None if sends is None else int(sends),
            in_use=None if in_use is None else bool(in_use),
            unread=data.get("unread"),
        )


@dataclass(frozen=True, kw_only=True)
class NewLedger:
    """The plan's ledger is new (absent, or never used): every item is planned as new.

    ``evidence`` says why the campaigns may have been sent before (empty for a brand-new
    project).  ``unchecked_base``: the base branch asked for (and where it was named) when
    it is not in this checkout, so the config could not be compared with it.  ``unset``:
    variables of ``ledger`` not set here, so the ledger read is their default (a pull
    request's plan without the ledger's secret).
    """

    ledger: str  # as written, password redacted
    state: State
    evidence: tuple[Evidence, ...] = ()
    unchecked_base: tuple[str, str] | None = None
    unset: tuple[str, ...] = ()  # variables of the ledger as written not set: defaults used

    @property
    def warns(self) -> bool:
        """Evidence of history: a reviewer must look (``--detailed-exitcode`` answers 2)."""
        return bool(self.evidence)

    @property
    def message(self) -> str:
        return self.words()

    def words(self, show: Show | None = None) -> str:
        """The headline line; ``show`` writes the values (Markdown: code spans)."""
        found = "; ".join(e.describe(show) for e in self.evidence)
        plain = show is None
        show = show or _plain
        exists = "does not exist" if self.state == "absent" else "is empty"
        ledger = show(self.ledger)
        if not self.evidence:
            yet = " yet" if self.state == "absent" else ""
            note = self._defaulted()
            base = ""
            if self.unchecked_base:
                ref, source = self.unchecked_base
                base = (
                    f" (the base branch {show(ref)}, from {source}, is not in this checkout, "
                    "so the ledger it names was not compared)"
                )
            return f"the ledger {ledger}{note} {exists}{yet}: every item is planned as new{base}"
        copy = show("mktsync ledger export --format sqlite --out NEW.db")
        key = "'ledger:'" if plain else show("ledger:")
        return (
            f"the ledger {ledger}{self._defaulted()} {exists}: every item is planned as new"
            f" — {found}. "
            f"If the ledger moved, copy it ({copy}) or point {key} back ({MOVE_DOC})"
        )

    def _defaulted(self) -> str:
        if not self.unset:
            return ""
        names = ", ".join(f"${{{n}}}" for n in self.unset)
        return f" (read as its default: {names} not set here)"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ledger": self.ledger,
            "state": self.state,
            "evidence": [e.as_json() for e in self.evidence],
            "message": self.message,
        }
        if self.unset:
            out["unset"] = list(self.unset)
        if self.unchecked_base:
            out["unchecked_base"] = {"ref": self.unchecked_base[0], "from": self.unchecked_base[1]}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], config: str | None = None) -> NewLedger:
        unchecked = data.get("unchecked_base")
        return cls(
            ledger=str(data["ledger"]),
            state="absent" if data["state"] == "absent" else "empty",
            evidence=tuple(Evidence.from_json(e, config) for e in data.get("evidence", ())),
            unchecked_base=(str(unchecked["ref"]), str(unchecked["from"])) if unchecked else None,
            unset=tuple(str(n) for n in data.get("unset", ())),
        )


def _sends(n: int) -> str:
    return f"{n:,} send{'s' * (n != 1)}"


def new_ledger(
    config: Config,
    ledger: LedgerReader,
    url: str,
    *,
    written: str | None = None,
    base: str | None = None,
    compare_config: bool = True,
    environments: bool = True,
) -> NewLedger | None:
    """The plan's ledger, if it is new, with the evidence that its campaigns have history.

    ``url`` is the ledger ``ledger`` was opened from (resolved); ``written`` how to show it
    (default: the config's ``ledger:`` as written).  ``base`` is ``--base REF`` (default:
    ``$GITHUB_BASE_REF``, ``$CI_MERGE_REQUEST_TARGET_BRANCH_NAME``).  ``compare_config``
    False when the command line chose the ledger (``--ledger``): the config's line is not
    the one in use.  ``environments`` False skips other environments' ledgers.
    """
    from mktsync.ledger.postgres import redact

    if _is_memory(url):
        return None  # a throwaway ledger is new by design
    state = ledger_state(ledger)
    if state is None:
        return None
    ids = _campaign_ids(config)
    current = _Place.of(url, config.base_dir)
    evidence: list[Evidence] = []
    unchecked: tuple[str, str] | None = None
    if compare_config:
        version, unchecked = previous_version(config, base)
        if version is not None and version.ledger != config.ledger.raw:
            reading = _read_other(version.ledger, config, current, ids, trusted=True)
            if not reading.same:
                evidence.append(
                    Evidence(
                        kind=version.kind,
                        ledger=redact(version.ledger),
                        ref=version.ref,
                        config=config.path.name,
                        sends=reading.sends,
                        in_use=reading.in_use,
                        unread=reading.unread,
                    )
                )
    if environments:
        seen = {current}
        for name, spec in config.environments.items():
            if name == config.environment:
                continue
            reading = _read_other(spec.ledger.raw, config, current, ids, trusted=False, seen=seen)
            if reading.sends:
                evidence.append(
                    Evidence(
                        kind="environment",
                        ledger=redact(spec.ledger.raw),
                        environment=name,
                        sends=reading.sends,
                        in_use=True,
                    )
                )
    shown_as = written if written is not None else config.ledger.raw
    unset = tuple(n for n in _variables(shown_as) if not os.environ.get(n))
    return NewLedger(
        ledger=redact(shown_as),
        state=state,
        evidence=tuple(evidence),
        unchecked_base=unchecked,
        unset=unset,
    )


def apply_refusal(found: NewLedger) -> str | None:
    """Why ``apply`` must not start this new ledger without ``--new-ledger``, or None.

    Only a ledger the config named before, read here and holding sends of these
    campaigns, proves that an earlier apply recorded them elsewhere.  A changed line whose
    old ledger cannot be read here, or never sent these campaigns, is said by the plan but
    does not stop apply ("no evidence, no verdict").  Nor does another environment's
    ledger: a new environment starts empty, rightly.
    """
    proof = [e for e in found.evidence if e.kind != "environment" and e.sends]
    if not proof:
        return None
    exists = "does not exist" if found.state == "absent" else "is empty"
    old = proof[0].ledger
    return (
        f"the ledger {found.ledger} {exists}, but {'; '.join(e.describe() for e in proof)}: "
        "applying now would trigger every item again. If a new ledger is intended, run "
        "again with --new-ledger (and --why TEXT, kept in the ledger); if not, point "
        f"'ledger:' back at {old}, or copy that ledger to the new place first "
        f"(mktsync ledger export --format sqlite --out NEW.db; {MOVE_DOC})"
    )


def ledger_state(ledger: LedgerReader) -> State | None:
    """``absent`` (no file, no tables), ``empty`` (never used), or None (in use).

    Used means any item record or any run (an apply that sent nothing, a baseline).
    """
    with ledger._tx() as tx:
        used = tx.execute("SELECT 1 FROM items LIMIT 1") or tx.execute("SELECT 1 FROM runs LIMIT 1")
    if used:
        return None
    # A missing SQLite file or PostgreSQL schema is read as an empty in-memory ledger
    # (``open_ledger(create=False)``): an SQLite store without a path.
    return "absent" if getattr(ledger._store, "path", "") is None else "empty"


def sends_of(ledger: LedgerReader, campaign_ids: Iterable[int]) -> int:
    """How many ``sent`` records ``ledger`` holds for these campaign ids."""
    ids = sorted(set(campaign_ids))
    total = 0
    size = max(1, ledger._store.max_params)
    with ledger._tx() as tx:
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            marks = ", ".join("?" * len(chunk))
            rows = tx.execute(
                f"SELECT COUNT(*) FROM items WHERE status = 'sent' AND campaign_id IN ({marks})",
                chunk,
            )
            total += int(rows[0][0])
    return total


# -- the config's earlier ledger, from git -----------------------------------------------------


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
    from mktsync.config.validate import DEFAULT_LEDGER
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


# -- reading another ledger without reaching anywhere new ------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Place:
    """Where a ledger URL leads: an SQLite file's real path, or the URL itself."""

    where: str

    @classmethod
    def of(cls, url: str, base_dir: Path) -> _Place:
        from mktsync.config.confine import sqlite_written_path

        path = sqlite_written_path(url)
        if path is None:
            return cls(where=url)
        return cls(where=os.path.realpath(base_dir / path))


@dataclass(frozen=True, kw_only=True)
class _Reading:
    sends: int | None = None
    in_use: bool | None = None
    unread: str | None = None
    same: bool = False  # the ledger in use, written another way


def _read_other(
    written: str,
    config: Config,
    current: _Place,
    ids: Iterable[int],
    *,
    trusted: bool,
    seen: set[_Place] | None = None,
) -> _Reading:
    """Read another ledger's sends of ``ids``, if it can be read without reaching anywhere new.

    ``trusted``: ``written`` comes from a reviewed version of the config (the base branch,
    an earlier commit), so one whole ``${VAR}`` the workflow set may name a database.
    """
    from mktsync.config.confine import PathRefused, confined_path, sqlite_written_path
    from mktsync.config.model import EnvString, Policy
    from mktsync.errors import MktsyncError
    from mktsync.ledger import open_ledger

    value = EnvString(raw=written, field="ledger", policy=config.policy)
    unset = [n for n in value.variables if not os.environ.get(n)]
    try:
        url = value.resolve()
    except MktsyncError:  # a variable not allowed, unset without a default, or embedded
        return _Reading(unread=f"${{{unset[0]}}} is not set" if unset else "its ${VAR} is refused")
    place = _Place.of(url, config.base_dir)
    if place == current or (seen is not None and place in seen):
        return _Reading(same=True)
    if seen is not None:
        seen.add(place)
    if _is_memory(url):
        return _Reading(unread="a throwaway in-memory ledger")
    path = sqlite_written_path(url)
    if path is not None:
        try:
            real = confined_path(path, config.base_dir, Policy(data_root=config.policy.data_root))
        except PathRefused:
            return _Reading(unread="outside the repository")
        if not real.is_file():
            return _Reading(unread="no such file in this checkout")
        url = f"sqlite:///{real}"
    elif not (trusted and _from_workflow(value, url)):
        return _Reading(unread="not an SQLite file in the repository")
    try:
        with open_ledger(url, config.base_dir, create=False) as other:
            state = ledger_state(other)
            return _Reading(sends=sends_of(other, ids), in_use=state is None)
    except MktsyncError:  # not a ledger, damaged, unreachable: its message may hold the URL
        return _Reading(unread="not a readable ledger")


def _from_workflow(value: Any, url: str) -> bool:
    """``url`` is the whole value of the one variable written (set by the workflow, never a
    default or a host written in the file)."""
    names = value.variables
    return (
        len(names) == 1
        and value.raw.strip().startswith("${")
        and value.raw.strip().endswith("}")
        and os.environ.get(names[0]) == url
    )


def _variables(written: str) -> tuple[str, ...]:
    from mktsync.config.model import EnvString

    return EnvString(raw=written).variables


def _is_memory(url: str) -> bool:
    return url.split("?", 1)[0] == "sqlite:///:memory:"


def _campaign_ids(config: Config) -> set[int]:
    ids = {c.campaign_id for c in config.campaigns.values()}
    return ids | {s.campaign_id for s in config.schedules.values()}
