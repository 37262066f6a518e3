"""Turning lead references into Marketo lead ids before anything is triggered.

>>> resolution = resolve_leads(items, client, ledger, create_missing=frozenset({"signup"}))  # doctest: +SKIP
>>> resolution.lead_ids(call_items)                              # one cache query  # doctest: +SKIP
[318592, None]

Emails are looked up (300 a call, cached in the ledger across runs); with
``create_missing: true`` the leads Marketo does not know are created first.  Lead ids
written in the data are checked too: Marketo's trigger call reports nothing per lead,
so an id it does not know would otherwise vanish without a word.

Memory is flat in the number of leads (issue 16): the items are streamed once, a chunk at
a time; each chunk's emails are looked up in the ledger's cache with one query, and the
emails it does not hold gather into batches of exactly 300 that are looked up, cached, and
forgotten.  The ledger's cache is the store: at send time each call's lead ids come from
one cache query (``Resolution.lead_ids``).  So apply makes ``ceil(distinct uncached
emails / 300)`` lookup calls, as the plan forecasts: an email found is cached (so seen
again it is a cache hit), an email not found has a *problem*.  The lead ids written in the
data are checked 300 a call too; the ids already checked are kept in a private temporary
SQLite table, not in memory.  What is held per lead is only what failed: the *problems*
(a reason per email or id that cannot be triggered), which the report lists anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

from mktsync.errors import disk_full, no_temp_space
from mktsync.items import Item
from mktsync.marketo.codes import OutcomeUnknown
from mktsync.marketo.records import CreateResult

BATCH = 300  # values a leads.json lookup or create call takes (Marketo's limit)
CHUNK = 1000  # items read before their emails are looked up in the cache, at one query
NOT_FOUND = "no Marketo lead with this email"


class LeadClient(Protocol):
    def find_leads_by_email(self, emails: Sequence[str]) -> dict[str, int]: ...
    def find_leads_by_id(self, ids: Sequence[int]) -> set[int]: ...
    def create_leads(self, records: Sequence[Mapping[str, str]]) -> list[CreateResult]: ...


class LeadCache(Protocol):
    def cached_lead_ids(self, emails: Iterable[str]) -> dict[str, int]: ...
    def cache_lead_ids(self, mapping: Mapping[str, int]) -> None: ...
    def cache_lead_misses(self, found: Iterable[str], missed: Iterable[str]) -> None: ...


class _NoCache:
    """The cache of a run that resolved nothing (no item to send)."""

    def cached_lead_ids(self, emails: Iterable[str]) -> dict[str, int]:
        return {}


class CacheReader(Protocol):
    def cached_lead_ids(self, emails: Iterable[str]) -> dict[str, int]: ...


@dataclass(frozen=True, kw_only=True)
class Resolution:
    """Where each item's lead id is found after ``resolve_leads``, and why the others
    cannot be triggered.  Emails: the ledger's cache (``cache``); ids written in the data:
    known unless ``problems`` says otherwise.

    >>> ids = resolution.lead_ids([p.item for p in call.items])   # doctest: +SKIP
    >>> [resolution.reason(p.item) for p, i in zip(call.items, ids) if i is None]  # doctest: +SKIP
    ['no Marketo lead with this email']
    """

    cache: CacheReader = field(default_factory=_NoCache)
    problems: Mapping[str, str] = field(default_factory=dict)  # lead reference -> reason
    created: int = 0

    def lead_ids(self, items: Sequence[Item]) -> list[int | None]:
        """Each item's lead id, or None: one cache query for all their emails (a call's)."""
        emails = {i.email for i in items if i.email is not None and i.email not in self.problems}
        found = self.cache.cached_lead_ids(emails) if emails else {}
        return [
            (None if i.lead in self.problems else i.lead_id)
            if i.lead_id is not None
            else found.get(i.email or "")
            for i in items
        ]

    def lead_id(self, item: Item) -> int | None:
        return self.lead_ids([item])[0]

    def reason(self, item: Item) -> str:
        return self.problems.get(item.lead, "lead not resolved")


def resolve_leads(
    items: Iterable[Item],
    client: LeadClient,
    cache: LeadCache,
    *,
    create_missing: frozenset[str] = frozenset(),
) -> Resolution:
    """Resolve every item's lead; ``create_missing`` names the campaigns allowed to create leads.

    ``items`` is read once, a chunk at a time, with the lookups in between.
    """
    resolver = _Resolver(client, cache, create_missing)
    try:
        it = iter(items)
        while chunk := list(islice(it, CHUNK)):
            resolver.add(chunk)
        resolver.finish()
    finally:
        resolver.close()
    return Resolution(cache=cache, problems=resolver.problems, created=resolver.created)


class _Resolver:
    """The state of one resolution: batches of at most 300, and the problems found."""

    def __init__(self, client: LeadClient, cache: LeadCache, creators: frozenset[str]) -> None:
        self.client, self.cache, self.creators = client, cache, creators
        self.problems: dict[str, str] = {}
        self.created = 0
        self.lookup: dict[str, Item] = {}  # emails to look up next: the item to create from
        self.create: dict[str, Item] = {}  # emails Marketo lacks, to create from this item
        self.uncached: set[str] = set()  # the current chunk's emails the cache lacks
        self.ids: list[int] = []
        self.checked = _CheckedIds()

    def add(self, chunk: list[Item]) -> None:
        lookup, create, problems = self.lookup, self.create, self.problems
        emails = {
            e
            for e in {i.email for i in chunk}
            if e is not None and e not in lookup and e not in create and e not in problems
        }
        cached = self.cache.cached_lead_ids(emails) if emails else {}
        self.uncached = emails - cached.keys()
        new_ids = self.checked.unseen({i.lead_id for i in chunk if i.lead_id is not None})
        for item in chunk:
            if item.email is not None:
                self._email(item, item.email)
        for lead_id in sorted(new_ids - set(self.ids)):
            self.ids.append(lead_id)
            if len(self.ids) == BATCH:
                self._check_ids()

    def _email(self, item: Item, email: str) -> None:
        creator = item.campaign in self.creators
        if email in self.lookup:
            # A created lead takes the fields of a creating campaign's item, the first one.
            if creator and self.lookup[email].campaign not in self.creators:
                self.lookup[email] = item
        elif email in self.create:
            pass
        elif email in self.problems:
            # Not found, and no creating campaign's item seen yet: now one may create it.
            if creator and self.problems[email] == NOT_FOUND:
                del self.problems[email]
                self._to_create(email, item)
        elif email in self.uncached:
            self.lookup[email] = item
            if len(self.lookup) == BATCH:
                self._look_up()

    def _look_up(self) -> None:
        wanted, self.lookup = self.lookup, {}
        found = self.client.find_leads_by_email(sorted(wanted))
        mapping = {e: found[e.lower()] for e in wanted if e.lower() in found}
        self.cache.cache_lead_ids(mapping)
        self.uncached -= wanted.keys()  # found: cached now; else a problem or to create
        missed = []
        for email, item in wanted.items():
            if email in mapping:
                continue
            if item.campaign in self.creators:
                self._to_create(email, item)
            else:
                self.problems[email] = NOT_FOUND
                missed.append(email)
        # Remembered so that the next plan can say how many emails were not found this time.
        self.cache.cache_lead_misses(found=mapping, missed=missed)

    def _to_create(self, email: str, item: Item) -> None:
        self.create[email] = item
        if len(self.create) == BATCH:
            self._create()

    def _create(self) -> None:
        wanted, self.create = self.create, {}
        records = [{**dict(item.fields), "email": email} for email, item in wanted.items()]
        new_ids: dict[str, int] = {}
        try:
            results = self.client.create_leads(records)
        except OutcomeUnknown:
            # The create call's answer was lost: look the leads up (a read, safe to retry)
            # to learn which were created, instead of failing the run or creating twice.
            found_now = self.client.find_leads_by_email(list(wanted))
            new_ids = {e: found_now[e.lower()] for e in wanted if e.lower() in found_now}
            for email in wanted:
                if email not in new_ids:
                    self.problems[email] = (
                        "creating the lead got no answer and Marketo does not have it; "
                        "the next run creates it"
                    )
        else:
            for email, result in zip(wanted, results, strict=True):
                if result.id is not None:
                    new_ids[email] = result.id
                else:
                    self.problems[email] = (
                        f"Marketo did not create the lead: {result.reason_code} {result.reason}"
                    )
        self.cache.cache_lead_ids(new_ids)
        self.created += len(new_ids)
        self.cache.cache_lead_misses(found=new_ids, missed=[e for e in wanted if e not in new_ids])

    def _check_ids(self) -> None:
        wanted, self.ids = self.ids, []
        known = self.client.find_leads_by_id(wanted)
        self.checked.add(wanted)
        for lead_id in wanted:
            if lead_id not in known:
                self.problems[f"id:{lead_id}"] = f"no Marketo lead with id {lead_id}"

    def finish(self) -> None:
        if self.lookup:
            self._look_up()
        if self.create:
            self._create()
        if self.ids:
            self._check_ids()

    def close(self) -> None:
        self.checked.close()


class _CheckedIds:
    """The lead ids already checked in this run, in a private temporary SQLite table
    (``sqlite3.connect("")``: on disk, removed when closed), so a million ids cost no memory."""

    def __init__(self) -> None:
        self._conn: sqlite3.Connection | None = None

    def unseen(self, ids: set[int]) -> set[int]:
        if not ids or self._conn is None:
            return ids
        seen = {
            row[0]
            for part in _parts(sorted(ids), 500)
            for row in self._conn.execute(
                f"SELECT id FROM checked WHERE id IN ({', '.join('?' * len(part))})", part
            )
        }
        return ids - seen

    def add(self, ids: Sequence[int]) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect("", isolation_level=None)
            self._conn.execute("PRAGMA journal_mode = OFF")
            self._conn.execute("CREATE TABLE checked (id INTEGER PRIMARY KEY)")
        try:
            self._conn.executemany("INSERT OR IGNORE INTO checked VALUES (?)", ((i,) for i in ids))
        except sqlite3.OperationalError as exc:
            if disk_full(exc):
                raise no_temp_space("apply keeps the lead ids it checked there") from None
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def _parts(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
