"""Turning lead references into Marketo lead ids before anything is triggered.

Emails are looked up (300 a call, cached in the ledger across runs); with
``create_missing: true`` the leads Marketo does not know are created first.  Lead ids
written in the data are checked too: Marketo's trigger call reports nothing per lead,
so an id it does not know would otherwise vanish without a word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mktsync.items import Item
from mktsync.marketo.codes import OutcomeUnknown
from mktsync.marketo.records import CreateResult


class LeadClient(Protocol):
    def find_leads_by_email(self, emails: Sequence[str]) -> dict[str, int]: ...
    def find_leads_by_id(self, ids: Sequence[int]) -> set[int]: ...
    def create_leads(self, records: Sequence[Mapping[str, str]]) -> list[CreateResult]: ...


class LeadCache(Protocol):
    def cached_lead_ids(self, emails: Iterable[str]) -> dict[str, int]: ...
    def cache_lead_ids(self, mapping: Mapping[str, int]) -> None: ...
    def cache_lead_misses(self, found: Iterable[str], missed: Iterable[str]) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Resolution:
    """Lead ids by email, and why the others cannot be triggered."""

    ids_by_email: Mapping[str, int]
    known_ids: frozenset[int]
    problems: Mapping[str, str] = field(default_factory=dict)  # lead reference -> reason
    created: int = 0

    def lead_id(self, item: Item) -> int | None:
        if item.lead_id is not None:
            return item.lead_id if item.lead_id in self.known_ids else None
        return self.ids_by_email.get(item.email or "")

    def reason(self, item: Item) -> str:
        return self.problems.get(item.lead, "lead not resolved")


def resolve_leads(
    items: Iterable[Item],
    client: LeadClient,
    cache: LeadCache,
    *,
    create_missing: frozenset[str] = frozenset(),
) -> Resolution:
    """Resolve every item's lead; ``create_missing`` names the campaigns allowed to create leads."""
    emails: dict[str, Item] = {}
    ids: set[int] = set()
    for item in items:
        if item.email is not None:
            # The first item of an email supplies the fields of a created lead.
            if item.email not in emails or (
                item.campaign in create_missing
                and emails[item.email].campaign not in create_missing
            ):
                emails[item.email] = item
        elif item.lead_id is not None:
            ids.add(item.lead_id)
    found = cache.cached_lead_ids(emails) if emails else {}
    wanted = sorted(set(emails) - set(found))
    if wanted:
        looked_up = client.find_leads_by_email(wanted)
        cache.cache_lead_ids(looked_up)
        found.update(looked_up)
    problems: dict[str, str] = {}
    missing = [e for e in wanted if e not in found]
    to_create = [e for e in missing if emails[e].campaign in create_missing]
    created = 0
    if to_create:
        records = [{**dict(emails[e].fields), "email": e} for e in to_create]
        new_ids: dict[str, int] = {}
        try:
            results = client.create_leads(records)
        except OutcomeUnknown:
            # The create call's answer was lost: look the leads up (a read, safe to retry)
            # to learn which were created, instead of failing the run or creating twice.
            found_now = client.find_leads_by_email(to_create)
            new_ids = {e: found_now[e.lower()] for e in to_create if e.lower() in found_now}
            for email in to_create:
                if email not in new_ids:
                    problems[email] = (
                        "creating the lead got no answer and Marketo does not have it; "
                        "the next run creates it"
                    )
        else:
            for email, result in zip(to_create, results, strict=True):
                if result.id is not None:
                    new_ids[email] = result.id
                else:
                    problems[email] = (
                        f"Marketo did not create the lead: {result.reason_code} {result.reason}"
                    )
        cache.cache_lead_ids(new_ids)
        found.update(new_ids)
        created = len(new_ids)
    for email in missing:
        if email not in found and email not in problems:
            problems[email] = "no Marketo lead with this email"
    if wanted:
        # Remembered so that the next plan can say how many emails were not found this time.
        cache.cache_lead_misses(
            found=[e for e in wanted if e in found], missed=[e for e in wanted if e not in found]
        )
    known = client.find_leads_by_id(sorted(ids)) if ids else set()
    for lead_id in sorted(ids - known):
        problems[f"id:{lead_id}"] = f"no Marketo lead with id {lead_id}"
    return Resolution(
        ids_by_email=found, known_ids=frozenset(known), problems=problems, created=created
    )
