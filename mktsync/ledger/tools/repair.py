"""``mktsync ledger mark-sent|forget``: settle items by hand, recorded with who and why.

All or nothing: every key is checked first, read-only (a wrong URL or key never creates
a ledger), then again under the run lock, so a repair never races an ``apply``
(``Ledger.repair``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mktsync.errors import MktsyncError
from mktsync.ledger.records import LedgerRecord, RepairAction, whoami
from mktsync.ledger.tools.target import KeysNotFound, LedgerTarget, opening, reading


@dataclass(frozen=True, kw_only=True)
class RepairResult:
    """What a repair changed: each key with its status before (``forget`` deletes the record)."""

    action: RepairAction
    campaign_id: int
    run_id: int
    who: str
    why: str
    before: tuple[tuple[str, str], ...]  # (key, previous status), in the order asked


def default_who() -> str:
    """``$MKTSYNC_WHO``, else ``user@host``: the name recorded in ``runs`` for a repair."""
    return os.environ.get("MKTSYNC_WHO", "").strip() or whoami()


def read_keys(keys: Sequence[str], keys_from: Path | None = None) -> list[str]:
    """The keys given, then those of ``keys_from`` (one a line, blank lines skipped), deduplicated.

    Lines are taken exactly (only the line ending removed): keys may hold spaces.
    """
    found = list(keys)
    if keys_from is not None:
        try:
            text = keys_from.read_text(encoding="utf-8")
        except OSError as exc:
            raise MktsyncError(f"{keys_from}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise MktsyncError(f"{keys_from}: not UTF-8 text") from None
        found += [line.removesuffix("\r") for line in text.split("\n")]
    return list(dict.fromkeys(k for k in found if k))


def repair(
    target: LedgerTarget,
    campaign_id: int,
    keys: Sequence[str],
    *,
    action: RepairAction,
    who: str,
    why: str,
    lock_timeout: float = 30.0,
) -> RepairResult:
    """Mark ``keys`` sent, or forget them, recorded in ``runs`` with who and why.

    All or nothing: if any key is not in the ledger, ``KeysNotFound`` and no change.
    """
    keys = list(dict.fromkeys(keys))
    if not keys:
        raise MktsyncError("no keys given: name them, or use --keys-from FILE")
    if not why.strip():
        raise MktsyncError("--why is required: say what you checked in Marketo")
    # Check read-only first, so that a wrong URL or key never creates a ledger file.
    with reading(target) as ledger:
        _require(ledger.lookup(campaign_id, keys), campaign_id, keys)
    with (
        opening(target) as ledger,
        ledger.lock(command=f"repair {action}", timeout=lock_timeout),
    ):
        # Again under the lock: another repair may have forgotten a key in between.
        found = ledger.lookup(campaign_id, keys)
        _require(found, campaign_id, keys)
        ledger.repair(campaign_id, keys, action=action, who=who, why=why)
        run_id = ledger.runs(limit=1)[0].run_id  # ours: writers hold the lock we hold
    return RepairResult(
        action=action,
        campaign_id=campaign_id,
        run_id=run_id,
        who=who,
        why=why,
        before=tuple((k, found[k].status) for k in keys),
    )


def _require(found: Mapping[str, LedgerRecord], campaign_id: int, keys: Sequence[str]) -> None:
    missing = [k for k in keys if k not in found]
    if missing:
        raise KeysNotFound(campaign_id, missing, repair=True)
