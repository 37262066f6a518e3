"""The one classifier: an item or a batch run against its ledger record.

>>> classify(None, "0f3a...", retrigger="never", retry_unknown=False)       # doctest: +SKIP
Verdict(action=<Action.TRIGGER: 'trigger'>, send=True, retry_of=None)

Trigger items (``plan.planner``) and batch runs (``plan.batch``) are classified by the
same rules (DESIGN.md's classes); only the words for the two that send differ (``new``
and ``again``: ``trigger``/``retrigger``, ``schedule``/``reschedule``):

- no record: new, sent;
- ``failed``: sent again, as new (``retry_of="failed"``);
- ``unknown``, or ``pending`` outside a run (a run died mid-call: its outcome is unknown
  too): unknown, sent again only with ``retry_unknown`` (``retry_of="unknown"``);
- sent, and the digest of what the ledger records now (``recorded_hash``: the item's
  ``recorded`` set, a run's ``stored`` set) differs: ``again`` with ``retrigger:
  on_change``, else changed (shown, never sent);
- sent with that very digest: unchanged.

The caller computes ``recorded_hash`` (``items.token_hash``) once per item; the plan's
steady state has the ledger answer for all of a batch's digests at once and classifies
only the keys whose record differs.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from mktsync.items import Tokens
from mktsync.plan.records import Action


class LedgerRecord(Protocol):
    """What classifying needs of a ledger record (``mktsync.ledger.LedgerRecord`` has it)."""

    @property
    def status(self) -> str: ...
    @property
    def token_hash(self) -> str: ...
    @property
    def tokens(self) -> Tokens: ...


class Verdict(NamedTuple):
    """An item's class, whether the plan sends it, the status it is a retry of, and the
    token set recorded before when it differs now (``again`` or changed)."""

    action: Action
    send: bool
    retry_of: str | None = None
    old: Tokens | None = None


_UNCHANGED = Verdict(Action.UNCHANGED, False)
_UNKNOWN = Verdict(Action.UNKNOWN, False)
_RETRY_UNKNOWN = Verdict(Action.UNKNOWN, True, "unknown")


def classify(
    record: LedgerRecord | None,
    recorded_hash: str,
    *,
    retrigger: str,
    retry_unknown: bool,
    new: Action = Action.TRIGGER,
    again: Action = Action.RETRIGGER,
) -> Verdict:
    """The class of an item whose ledger record is ``record`` (None: never recorded) and
    whose recorded set hashes to ``recorded_hash`` now (see the module docstring)."""
    if record is None:
        return Verdict(new, True)
    status = record.status
    if status == "failed":
        return Verdict(new, True, "failed")
    if status in ("unknown", "pending"):
        return _RETRY_UNKNOWN if retry_unknown else _UNKNOWN
    if record.token_hash != recorded_hash:
        if retrigger == "on_change":
            return Verdict(again, True, old=record.tokens)
        return Verdict(Action.CHANGED, False, old=record.tokens)
    return _UNCHANGED
