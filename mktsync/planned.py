"""What a plan sends: planned items, calls, and calls read back from the plan's spill.

``plan`` builds these and re-exports them; ``planfile``, ``report`` and ``apply`` read them.

A plan made by ``make_plan`` does not hold its calls: each item to send is written to a
``Spill`` as the one line of JSON ``plan --format json`` prints for it, and
``SpilledCalls`` reads the calls back in plan order, a page at a time.  ``planfile``
copies the lines as they are (``SpilledCalls.iter_lines``); ``apply`` and the reports
iterate ``Call`` objects decoded from them, as from any sequence of calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from json.encoder import encode_basestring
from typing import Any, Literal, overload

from mktsync.items import Item, Tokens
from mktsync.spill import Spill

MAX_LEADS_PER_CALL = 100
SPILL_COLUMNS = ("line", "email", "lead_id", "entry")  # what the spill keeps of an item
LINE, EMAIL, LEAD_ID, ENTRY = range(len(SPILL_COLUMNS))

Action = Literal["trigger", "retrigger", "unknown"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedItem:
    """An item the plan sends, and why: new, changed (with the tokens sent before), or retried."""

    item: Item
    action: Action
    old_tokens: Tokens | None = None
    retry_of: str | None = None  # the earlier status ('failed', 'unknown') when this is a retry


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangedItem:
    """An item sent before whose tokens differ now, not resent because ``retrigger: never``."""

    item: Item
    old_tokens: Tokens


@dataclass(frozen=True, kw_only=True)
class Call:
    """One trigger call: one campaign, one token set, at most 100 leads."""

    campaign_id: int
    tokens: Tokens
    items: tuple[PlannedItem, ...]


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def lead_line(
    item: Item,
    action: str,
    old_tokens: Tokens | None = None,
    retry_of: str | None = None,
    *,
    campaign: str | None = None,
) -> str:
    """The item's line in the plan's JSON, exactly as ``json.dumps`` writes its dict
    (``planfile._planned``; ``ensure_ascii=False``, separators ``", "`` and ``": "``),
    built from the C string encoder without the dict: this runs once per item.

    ``campaign`` names the item's campaign entry when the call is listed under another
    entry with the same campaign id (calls are shared by campaign id, issue 16).
    """
    s = encode_basestring
    if campaign is not None:
        return with_campaign(lead_line(item, action, old_tokens, retry_of), campaign)
    lead_id = "null" if item.lead_id is None else str(int(item.lead_id))
    email = "null" if item.email is None else s(item.email)
    line = (
        f'{{"action": {s(action)}, "key": {s(item.key)}, "lead": {s(item.lead)},'
        f' "lead_id": {lead_id}, "email": {email}, "source": {s(item.source)},'
        f' "row": {int(item.row)}'
    )
    if item.fields:
        line += f', "fields": {_compact(dict(item.fields))}'
    if old_tokens is not None:
        line += f', "old_tokens": {_compact(dict(old_tokens))}'
    if retry_of is not None:
        line += f', "retry_of": {s(retry_of)}'
    return line + "}"


def with_campaign(line: str, campaign: str) -> str:
    """A lead line that also names its campaign entry (first key, as ``_planned`` puts it)."""
    return f'{{"campaign": {encode_basestring(campaign)}, {line[1:]}'


def planned_from_line(line: str, *, campaign: str, campaign_id: int, tokens: Tokens) -> PlannedItem:
    """The ``PlannedItem`` a ``lead_line`` describes, in campaign ``campaign``."""
    lead = json.loads(line)
    return PlannedItem(
        item=Item(
            campaign=str(lead.get("campaign", campaign)),
            campaign_id=campaign_id,
            key=str(lead["key"]),
            lead_id=lead["lead_id"],
            email=lead["email"],
            tokens=tokens,
            source=lead["source"],
            row=int(lead["row"]),
            fields=tuple((lead.get("fields") or {}).items()),
        ),
        action=lead["action"],
        old_tokens=tuple(lead["old_tokens"].items()) if "old_tokens" in lead else None,
        retry_of=lead.get("retry_of"),
    )


class SpilledCalls(Sequence[Call]):
    """One campaign entry's calls, read from the plan's spill when iterated (module doc).

    The spill's part is the Marketo campaign id: entries that send to the same campaign
    with the same token set share calls, listed under the entry that sent first, each
    lead naming its own entry when it is another's.  Each spilled row is
    ``(line, email, lead id, entry index)``.

    >>> len(cp.calls), cp.calls[0].tokens                             # doctest: +SKIP
    (3, (('{{my.Link}}', 'https://example.com/j/1'),))
    """

    def __init__(
        self, spill: Spill, *, entry: int, names: Sequence[str], campaign_id: int, calls: int
    ) -> None:
        self._spill = spill
        self._entry = entry
        self._names = names
        self._campaign = names[entry]
        self._campaign_id = campaign_id
        self._len = calls

    def __len__(self) -> int:
        return self._len

    def iter_lines(self) -> Iterator[tuple[Tokens, list[str]]]:
        """Each call's token set and its leads' JSON lines, in plan order."""
        entry, names = self._entry, self._names
        for tokens, rows in self._spill.chunks(
            self._campaign_id, MAX_LEADS_PER_CALL, owner=(ENTRY, entry)
        ):
            yield (
                tokens,
                [row[0] if row[ENTRY] == entry else with_campaign(row[0], names[row[ENTRY]])
                 for row in rows],
            )  # fmt: skip

    def __iter__(self) -> Iterator[Call]:
        for tokens, lines in self.iter_lines():
            yield Call(
                campaign_id=self._campaign_id,
                tokens=tokens,
                items=tuple(
                    planned_from_line(
                        line, campaign=self._campaign, campaign_id=self._campaign_id, tokens=tokens
                    )
                    for line in lines
                ),
            )

    @overload
    def __getitem__(self, index: int) -> Call: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Call]: ...
    def __getitem__(self, index: int | slice) -> Call | Sequence[Call]:
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("call index out of range")
        return next(islice(iter(self), index, None))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{self._len} calls of campaign {self._campaign!r}, spilled>"
