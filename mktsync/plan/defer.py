"""Two rows, one lead: the second waits for the next run (issue 22).

>>> moved = defer_clashes(spill, names=names, campaign_ids=ids, writers=[0],   # doctest: +SKIP
...                       synced=synced, defer=lambda entry, item, action: ...)

A lead field holds one value.  When two items of one run go to the same lead and write
other values to one of its fields (``fields:``; one person with two trial workspaces, each
row with its own link), apply writes the fields of every lead first and triggers after, so
Marketo would send both emails with whichever value was written last.  Apply used to find
this as it wrote the fields and fail the second item (exit 3, every day, though the next
run sends it).  The plan now decides it: the first item (in entry order, then row order)
goes now, and each later item that would write another value to a field already written
this run is ``» deferred``: not in the calls, not marked in the ledger, so the next run
plans it again, as new.  Items whose fields agree (or that write none) all go: two calls,
or one lead in one call.

Leads are matched as the plan knows them: by email, or by lead id.  An item by email and
another by id may still name one lead; apply finds those as it writes (``apply.fields``)
and defers the second the same way.

Memory: the spill is asked for the leads that more than one item writing fields goes to,
a page at a time, and only those items are read; nothing is held per item.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any

from mktsync.items import Item
from mktsync.plan.records import (
    EMAIL,
    ENTRY,
    LEAD_ID,
    LINE,
    Action,
    DeferredItem,
    Synced,
    action_of,
    planned_from_lead,
)
from mktsync.plan.spill import Spill

_AT = 4  # rows_with gives (part, group, token set, sequence, c0, ...): column n is row[_AT + n]

Defer = Callable[[int, DeferredItem, Action], None]  # entry, the item, the class it leaves


def defer_clashes(
    spill: Spill,
    *,
    names: Sequence[str],
    campaign_ids: Sequence[int],
    writers: Sequence[int],
    synced: Synced,
    defer: Defer,
) -> int:
    """Take out of ``spill`` every item that would write another value to a field of a
    lead an earlier item of this run writes, calling ``defer`` for each; how many.

    ``writers``: the entries (indexes into ``names``) that write lead fields (``fields:``)
    and send something; ``synced``: each entry's field names."""
    if not writers:
        return 0
    count = 0
    for column in (EMAIL, LEAD_ID):
        spill.index(column)
        for page in spill.repeated(column, among=(ENTRY, writers)):
            rows = spill.rows_with(column, page)
            removed: list[tuple[int, int, int]] = []
            for _, same_lead in groupby(rows, key=lambda r: r[_AT + column]):
                ordered = sorted(same_lead, key=lambda r: (r[_AT + ENTRY], r[3]))
                for row, deferred, action in _clashes(ordered, names, campaign_ids, synced):
                    removed.append((row[0], row[1], row[3]))
                    defer(row[_AT + ENTRY], deferred, action)
            spill.remove(removed)
            count += len(removed)
    return count


def _clashes(
    rows: list[tuple[Any, ...]], names: Sequence[str], campaign_ids: Sequence[int], synced: Synced
) -> list[tuple[tuple[Any, ...], DeferredItem, Action]]:
    """One lead's items in plan order: those that write a value other than an earlier
    item's to one of its fields, each with the item that goes first."""
    written: dict[str, tuple[str, Item]] = {}  # field -> (value, the item writing it)
    out: list[tuple[tuple[Any, ...], DeferredItem, Action]] = []
    for row in rows:
        entry = row[_AT + ENTRY]
        lead = json.loads(row[_AT + LINE])
        item = planned_from_lead(
            lead, campaign=names[entry], campaign_id=campaign_ids[entry], tokens=row[2],
            synced=synced,
        ).item  # fmt: skip
        action = action_of(lead["action"])
        values = dict(item.synced)
        clash = next((n for n, v in values.items() if n in written and written[n][0] != v), None)
        # An unknown outcome sent again is not held back: its first attempt may have run.
        if clash is None or action is Action.UNKNOWN:
            for name, value in values.items():
                written.setdefault(name, (value, item))
            continue
        first = written[clash][1]
        out.append(
            (
                row,
                DeferredItem(
                    item=item,
                    first_campaign=first.campaign,
                    first_source=first.source,
                    first_row=first.row,
                    first_key=first.key,
                    differs=differences(first, item),
                ),
                action,
            )
        )
    return out


def differences(first: Item, later: Item) -> tuple[tuple[str, str | None, str | None], ...]:
    """Every token (of one Marketo campaign) and lead field the two items give other
    values: ``(name, first's, later's)``, fields first, each group by name."""
    pairs = [(dict(first.synced), dict(later.synced))]
    if first.campaign_id == later.campaign_id:
        pairs.append((dict(first.tokens), dict(later.tokens)))
    out = []
    for a, b in pairs:
        for name in sorted(set(a) | set(b)):
            if a.get(name) != b.get(name):
                out.append((name, a.get(name), b.get(name)))
    return tuple(out)
