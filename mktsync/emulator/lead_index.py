"""Lead lookups without scanning: one value -> lead ids map per lookup field.

A field's map is built on its first lookup (one pass over the leads, counted in
``rows_scanned``) and kept up to date by ``add`` and ``update`` afterwards, so a
300-value lookup costs 300 dict reads however many leads the instance holds.
Emails match case-insensitively; other fields by their text (``str(value)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def index_key(field: str, value: Any) -> str:
    text = "" if value is None else str(value)
    return text.casefold() if field == "email" else text


class LeadIndex:
    """Built per field on demand; ``World`` calls ``add``/``update`` for every change."""

    def __init__(self) -> None:
        self._maps: dict[str, dict[str, set[int]]] = {}
        self.rows_scanned = 0  # leads read to build maps: a test checks lookups add none

    def fields(self) -> list[str]:
        return sorted(self._maps)

    def ids(self, field: str, value: str, leads: Mapping[int, Mapping[str, Any]]) -> set[int]:
        found = self._maps.get(field)
        if found is None:
            found = self._build(field, leads.values())
        return found.get(index_key(field, value), set())

    def _build(self, field: str, leads: Iterable[Mapping[str, Any]]) -> dict[str, set[int]]:
        built: dict[str, set[int]] = {}
        fold = field == "email"
        scanned = 0
        for lead in leads:
            scanned += 1
            value = lead.get(field)
            if value is None and field not in lead:
                continue
            text = "" if value is None else str(value)
            key = text.casefold() if fold else text
            ids = built.get(key)
            if ids is None:
                built[key] = {lead["id"]}
            else:
                ids.add(lead["id"])
        self.rows_scanned += scanned
        self._maps[field] = built
        return built

    def add(self, lead: Mapping[str, Any]) -> None:
        for field, built in self._maps.items():
            if field in lead:
                built.setdefault(index_key(field, lead[field]), set()).add(int(lead["id"]))

    def update(self, lead: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
        """Call before ``lead`` takes ``changes``: moves its id between values."""
        lead_id = int(lead["id"])
        for field, built in self._maps.items():
            if field not in changes:
                continue
            if field in lead:
                old = built.get(index_key(field, lead[field]))
                if old is not None:
                    old.discard(lead_id)
                    if not old:
                        del built[index_key(field, lead[field])]
            built.setdefault(index_key(field, changes[field]), set()).add(lead_id)
