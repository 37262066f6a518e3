"""Reading a saved plan's calls from its file as they are needed, not all at once.

>>> skeleton, where = read_streamed(Path("plan.json"))                 # doctest: +SKIP
>>> calls = FileCalls(Path("plan.json"), where[0], campaign="reminder", campaign_id=1234)  # doctest: +SKIP

``plan --out`` writes one lead per line (``plan.file.iter_plan_json``), so a saved plan of a
million leads is a million lines.  ``apply plan.json`` used to parse the whole file into
one object per lead; instead one pass reads it line by line, checks every lead line, and
keeps only the *skeleton*: the file with each campaign's calls left out (the header, the
counts, the unknown, changed and invalid lists).  Each campaign's calls become a
``FileCalls``: where they start in the file and how many there are; iterating it reads them
again from there, a line at a time, so memory stays flat whatever the size of the plan.

Only the layout ``plan`` writes is read this way; a file laid out otherwise (edited,
re-indented) or damaged is not judged here: ``read_streamed`` returns None and
``plan.file`` parses it whole, as before (and says what is wrong with it).

``ReviewedSet``: what a reviewed plan sends, as digests on disk, for ``apply --reviewed``
(issue 21): an item due now is sent only if the reviewer saw it as it is now.
"""

from __future__ import annotations

import json
import os
import sqlite3
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import IO, Any

from mktsync.errors import PlanError, disk_full, no_temp_space
from mktsync.items import Item, Tokens
from mktsync.plan.fileshape import LEAD, damage, loads
from mktsync.plan.lists import StreamedSequence
from mktsync.plan.records import NO_SYNCED, Call, Plan, Synced, planned_from_lead

_CALLS = '"calls": ['
_CALL_HEAD, _CALL_TAIL = '{"tokens": ', ', "leads": ['
_CALL_END = ("]},", "]}")
_CALLS_END = ("],", "]")


class _Unstreamable(Exception):
    """The file is not laid out as ``plan`` writes it (or is damaged): parse it whole."""


@dataclass(frozen=True, kw_only=True)
class Where:
    """Where one campaign's calls are in a saved plan: the byte after its ``"calls": [``
    line, how many calls follow, and the file's size and time when it was read."""

    offset: int
    calls: int
    stamp: tuple[int, int]


class _Lines:
    """A binary file's lines as text, counting the bytes read (``offset``)."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f, self.offset, self.last = f, f.tell(), ""

    def __iter__(self) -> Iterator[str]:
        for raw in self._f:
            self.offset += len(raw)
            self.last = raw.decode("utf-8")
            yield self.last


def _calls(
    lines: Iterator[str], *, decode: bool = True
) -> Iterator[tuple[Tokens, list[dict[str, Any]]]]:
    """The calls from the line after ``"calls": [`` to the line closing them: each call's
    token set and its leads, decoded one call at a time (``decode=False``: no leads)."""
    for line in lines:
        text = line.strip()
        if text in _CALLS_END:
            return
        if not (text.startswith(_CALL_HEAD) and text.endswith(_CALL_TAIL)):
            raise _Unstreamable("not a call's first line")
        names = loads(text[len(_CALL_HEAD) : -len(_CALL_TAIL)])
        if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
            raise _Unstreamable("tokens are not names and text")
        tokens: Tokens = tuple(names.items())
        leads: list[dict[str, Any]] = []
        count = 0
        for line in lines:
            text = line.strip()
            if text in _CALL_END:
                break
            count += 1
            if decode:
                lead = loads(text[:-1] if text.endswith(",") else text)
                if not isinstance(lead, dict):
                    raise _Unstreamable("a lead is not an object")
                leads.append(lead)
        else:
            raise _Unstreamable("the file ends inside a call")
        if not count:
            raise _Unstreamable("a call without leads")
        yield tokens, leads
    raise _Unstreamable("the file ends inside a campaign's calls")


def read_streamed(path: Path) -> tuple[dict[str, Any], list[Where | None]] | None:
    """The plan's JSON without its calls, and per campaign where its calls are in the
    file (None: they are in the skeleton, written inline); None if the layout is not
    ``plan``'s or anything in the calls is damaged."""
    skeleton: list[str] = []
    where: list[Where | None] = []
    try:
        with open(path, "rb") as f:
            stamp = _stamp(f)
            lines = _Lines(f)
            it = iter(lines)
            for line in it:
                skeleton.append(line)
                text = line.strip()
                if not text.startswith(_CALLS):
                    continue
                if text != _CALLS:  # calls written inline ("calls": [] when there are none)
                    where.append(None)
                    continue
                start, count = lines.offset, 0
                for tokens, leads in _calls(it):
                    count += 1
                    for lead in leads:  # each lead checked now, not halfway through apply
                        if damage(lead, LEAD):
                            raise _Unstreamable("a damaged lead: the whole file says where")
                        planned_from_lead(lead, campaign="", campaign_id=0, tokens=tokens)
                skeleton.append(lines.last)  # the line closing the calls
                where.append(Where(offset=start, calls=count, stamp=stamp))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, _Unstreamable):
        return None
    try:
        data = loads("".join(skeleton))
    except ValueError:  # Damaged, a JSONDecodeError: the whole file says what is wrong
        return None
    if not isinstance(data, dict):
        return None
    return data, where


def _stamp(f: IO[bytes]) -> tuple[int, int]:
    st = os.fstat(f.fileno())
    return st.st_size, st.st_mtime_ns


class FileCalls(StreamedSequence[Call]):
    """One campaign's calls in a saved plan, read from the file each time they are
    iterated (a call at a time): a ``Sequence[Call]`` as ``CampaignPlan.calls`` wants."""

    def __init__(
        self,
        path: Path,
        where: Where,
        *,
        campaign: str,
        campaign_id: int,
        synced: Synced = NO_SYNCED,
    ) -> None:
        self._path, self._where = path, where
        self._campaign, self._campaign_id = campaign, campaign_id
        self._synced = synced  # each entry's ``fields:`` (``planned_from_lead``)

    def __len__(self) -> int:
        return self._where.calls

    def __iter__(self) -> Iterator[Call]:
        campaign, campaign_id = self._campaign, self._campaign_id
        for tokens, leads in self._read(decode=True):
            try:
                items = tuple(
                    planned_from_lead(
                        lead,
                        campaign=campaign,
                        campaign_id=campaign_id,
                        tokens=tokens,
                        synced=self._synced,
                    )
                    for lead in leads
                )
            except (ValueError, KeyError, TypeError):
                raise self._unreadable() from None
            yield Call(campaign_id=campaign_id, tokens=tokens, items=items)

    def _read(self, *, decode: bool = False) -> Iterator[tuple[Tokens, list[dict[str, Any]]]]:
        try:
            with open(self._path, "rb") as f:
                if _stamp(f) != self._where.stamp:
                    raise PlanError(f"{self._path}: the saved plan changed while it was applied")
                f.seek(self._where.offset)
                yield from _calls(iter(_Lines(f)), decode=decode)
        except (OSError, ValueError, KeyError, TypeError, _Unstreamable):
            raise self._unreadable() from None

    def _unreadable(self) -> PlanError:
        return PlanError(f"{self._path}: the saved plan can no longer be read as it was")

    def iter_tokens(self) -> Iterator[Tokens]:
        """Each call's token set, without decoding its leads (apply's preflight)."""
        for tokens, _ in self._read():
            yield tokens

    def __repr__(self) -> str:
        return f"<{len(self)} calls of campaign {self._campaign!r}, read from {self._path}>"


# -- apply --reviewed: what the reviewer saw, as a set on disk (issue 21) ---------------------

_REVIEWED_BATCH = 2000  # hashes inserted per statement batch
_REVIEWED_QUERY = 500  # hashes looked up per statement (SQLite allows 32766 parameters)


def _digest(value: object) -> bytes:
    # ensure_ascii: any text (a lone surrogate too) becomes the same bytes on both sides.
    return blake2b(json.dumps(value, separators=(",", ":")).encode(), digest_size=16).digest()


def sent_as(item: Item) -> bytes:
    """What identifies an item *as sent*: campaign id, key, lead, tokens and lead fields
    (16 bytes of BLAKE2b; names and values in any order).  Two items with one digest
    send the same thing to the same person under the same ledger key."""
    tokens, fields = sorted(item.tokens), sorted(item.fields)
    return _digest([item.campaign_id, item.key, item.lead, tokens, fields])


def _key_of(campaign_id: int, key: str) -> bytes:
    return _digest([campaign_id, key])


class ReviewedSet:
    """The items a reviewed plan sends, on disk: what ``apply --reviewed`` may send.

    >>> reviewed = ReviewedSet.of(load_plan(Path("plan.json")))       # doctest: +SKIP
    >>> reviewed.reasons(items)                                         # doctest: +SKIP
    [None, 'new', 'differs']

    Two tables of 16-byte digests in a private temporary SQLite file (removed when closed,
    or when the process dies): ``sent_as`` of each item the plan's calls carry, and
    (campaign id, key) of each.  An item due now is sent when its ``sent_as`` is there;
    else it is held: ``"differs"`` when its key is there (the tokens, lead or fields the
    reviewer saw are not these), ``"new"`` when not.  The reviewed plan's calls are read
    from its file a call at a time (``FileCalls``), so a million-lead plan costs about
    60 MB of temp space and a bounded page cache, never an object per lead.

    Batch runs (``schedules:``) are few: held in memory as (campaign id, key, stored set).
    """

    def __init__(self) -> None:
        self._conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        weakref.finalize(self, self._conn.close)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -8192"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute("CREATE TABLE sent (h BLOB PRIMARY KEY) WITHOUT ROWID")
        self._conn.execute("CREATE TABLE keys (h BLOB PRIMARY KEY) WITHOUT ROWID")
        self.items = 0
        self.runs: frozenset[tuple[int, str, Tokens]] = frozenset()
        self._run_keys: frozenset[tuple[int, str]] = frozenset()

    @classmethod
    def of(cls, plan: Plan) -> ReviewedSet:
        """The set of what ``plan``'s calls and batch runs send."""
        reviewed = cls()
        batch: list[Item] = []
        for cp in plan.campaigns:
            for call in cp.calls:
                batch += [p.item for p in call.items]
                if len(batch) >= _REVIEWED_BATCH:
                    reviewed._add(batch)
                    batch = []
        reviewed._add(batch)
        runs = [(s.item.campaign_id, s.item.key, s.item.stored) for sp in plan.schedules
                for s in sp.send]  # fmt: skip
        reviewed.runs = frozenset(runs)
        reviewed._run_keys = frozenset((c, k) for c, k, _ in runs)
        return reviewed

    def _add(self, items: Sequence[Item]) -> None:
        if not items:
            return
        try:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                "INSERT OR IGNORE INTO sent VALUES (?)", [(sent_as(i),) for i in items]
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO keys VALUES (?)",
                [(_key_of(i.campaign_id, i.key),) for i in items],
            )
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if disk_full(exc):
                raise no_temp_space("the reviewed plan's items did not fit") from None
            raise
        self.items += len(items)

    def _found(self, table: str, digests: list[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        for start in range(0, len(digests), _REVIEWED_QUERY):
            chunk = digests[start : start + _REVIEWED_QUERY]
            marks = ", ".join("?" * len(chunk))
            rows = self._conn.execute(f"SELECT h FROM {table} WHERE h IN ({marks})", chunk)
            found.update(bytes(h) for (h,) in rows)
        return found

    def reasons(self, items: Sequence[Item]) -> list[str | None]:
        """Per item: None when the reviewed plan sends it as it is now, else why it is
        held: ``"differs"`` (its key was reviewed with other values) or ``"new"``."""
        digests = [sent_as(i) for i in items]
        sent = self._found("sent", digests)
        misses = [i for i, d in zip(items, digests, strict=True) if d not in sent]
        keys = self._found("keys", [_key_of(i.campaign_id, i.key) for i in misses])
        return [
            None if d in sent else "differs" if _key_of(i.campaign_id, i.key) in keys else "new"
            for i, d in zip(items, digests, strict=True)
        ]

    def run_reason(self, campaign_id: int, key: str, stored: Tokens) -> str | None:
        """The same for one batch run: its campaign id, key and stored set (tokens, runAt,
        clone name)."""
        if (campaign_id, key, stored) in self.runs:
            return None
        return "differs" if (campaign_id, key) in self._run_keys else "new"

    def close(self) -> None:
        self._conn.close()
