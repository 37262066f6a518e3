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

``git`` reads the config's earlier ``ledger:``; ``elsewhere`` reads other ledgers; this
module holds the records the plan carries (``Plan.new_ledger``) and their words.

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mktsync.ledger.elsewhere import State, is_memory

if TYPE_CHECKING:
    from mktsync.config.model import Config
    from mktsync.ledger.reader import LedgerReader

MOVE_DOC = 'docs/ledger.md, "Moving the ledger"'

EvidenceKind = Literal["base_branch", "previous_config", "environment"]


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
    path: str | None = None  # the earlier config's path, when not this config's (moved, another)
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
        if self.kind == "base_branch" and self.path:
            named = f"{show(self.path)} in the base branch {show(self.ref or '')} names the ledger {ledger}"
            if self.sends:
                return f"{named}, which holds {_sends(self.sends)} of these campaigns"
            return f"{named} ({self._detail()})"
        if self.kind == "base_branch":
            if self.sends:
                return f"the base branch's ledger {ledger} holds {_sends(self.sends)} of these campaigns"
            return (
                f"the ledger changed in this diff: the base branch {show(self.ref or '')} "
                f"has {ledger} ({self._detail()})"
            )
        config = show(self.path or self.config or "the config")
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
            "path": self.path,
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
            path=data.get("path"),
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
        found = named(e.describe(show) for e in self.evidence)
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


WITNESSES_NAMED = 3  # a headline names this many witnesses, then "and N more"


def named(described: Iterable[str]) -> str:
    """Witnesses joined for one line: the first ``WITNESSES_NAMED``, then how many more
    (the plan's JSON lists them all)."""
    items = list(described)
    shown = "; ".join(items[:WITNESSES_NAMED])
    more = len(items) - WITNESSES_NAMED
    return f"{shown}; and {more:,} more" if more > 0 else shown


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
    from mktsync.config.dburl import redact
    from mktsync.ledger.elsewhere import Place, ledger_state, read_other
    from mktsync.ledger.git import earlier_versions

    if is_memory(url):
        return None  # a throwaway ledger is new by design
    state = ledger_state(ledger)
    if state is None:
        return None
    ids = _campaign_ids(config)
    current = Place.of(url, config.base_dir)
    evidence: list[Evidence] = []
    unchecked: tuple[str, str] | None = None
    if compare_config:
        # Every earlier, reviewed config of these campaigns: this one before a rename or a
        # move, and other files declaring the same campaign ids (ledger.git).
        versions, unchecked = earlier_versions(config, base, ids)
        read: set[Place] = set()
        for version in versions:
            reading = read_other(
                version.ledger,
                config,
                current,
                version.ids or ids,
                trusted=True,
                seen=read,
                base_dir=version.folder,
            )
            if reading.same or (version.path and not (reading.sends or reading.unread)):
                continue  # the ledger in use, or another file's ledger without these sends
            if version.other and not reading.sends and reading.nothing_here:
                # Another file whose ledger is nothing here (a test's or an example's
                # SQLite file never made in this checkout): no evidence of any send.
                continue
            evidence.append(
                Evidence(
                    kind=version.kind,
                    ledger=redact(version.ledger),
                    ref=version.ref,
                    config=config.path.name,
                    path=version.path,
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
            # A witness only for the campaigns both environments trigger, on one instance:
            # production's sends of its ids say nothing of a sandbox's copies (its own ids).
            other = config.for_environment(name)
            shared = _campaign_ids(other) & ids
            if not shared or not _same_instance(config, other):
                continue
            reading = read_other(spec.ledger.raw, config, current, shared, trusted=False, seen=seen)
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
        f"the ledger {found.ledger} {exists}, but {named(e.describe() for e in proof)}: "
        "applying now would trigger every item again. If a new ledger is intended, run "
        "again with --new-ledger (and --why TEXT, kept in the ledger); if not, point "
        f"'ledger:' back at {old}, or copy that ledger to the new place first "
        f"(mktsync ledger export --format sqlite --out NEW.db; {MOVE_DOC})"
    )


def _variables(written: str) -> tuple[str, ...]:
    from mktsync.config.model import EnvString

    return EnvString(raw=written).variables


def _same_instance(config: Config, other: Config) -> bool:
    """One Marketo instance, as far as the files say: ``base_url`` written the same."""
    ours, theirs = config.marketo.base_url, other.marketo.base_url
    return ours is None or theirs is None or ours.raw == theirs.raw


def _campaign_ids(config: Config) -> set[int]:
    ids = {c.campaign_id for c in config.campaigns.values()}
    return ids | {s.campaign_id for s in config.schedules.values()}
