"""The lists a plan shows in full (invalid, unknown and changed items): held while short,
on the plan's spill past that, so that a million changed items cost no memory (issue 16).

>>> bag = Collector(spill, encode_item, decode_item)             # doctest: +SKIP
>>> for item in items: bag.append(item)                           # doctest: +SKIP
>>> listed = bag.done()       # a tuple, or a SpilledList read a page at a time

A ``SpilledList`` is a ``Sequence``: ``len``, indexing, slicing from the front (what the
reports do: ``listed[:20]``) and iteration read the spill, never the whole list at once.
Records are JSON (ASCII, so any string survives SQLite's UTF-8).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Generic, TypeVar, overload

from mktsync.items import InvalidItem, Item
from mktsync.plan.spill import Appender, Spill

T = TypeVar("T")
HELD = 2000  # items a list holds in memory before it moves to the spill
_PAGE = 1000


class StreamedSequence(Sequence[T], Generic[T]):
    """A ``Sequence`` whose items are read as it is iterated (from a spill, from a file):
    subclasses give ``__len__`` and ``__iter__``; indexing and slicing read up to the item
    wanted (``_range``, which a subclass that can seek overrides), equality compares item
    by item, and it is unhashable, as a list is."""

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return tuple(self)[index]
            return tuple(self._range(start, max(start, stop)))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range")
        return next(iter(self._range(index, index + 1)))

    def _range(self, start: int, stop: int) -> Iterable[T]:
        """Items ``start`` to ``stop - 1`` (0 <= start <= stop <= len)."""
        return islice(self, start, stop)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


class SpilledList(StreamedSequence[T]):
    """A list of records on a spill, decoded as they are read."""

    def __init__(self, spill: Spill, list_id: int, length: int, decode: Callable[[str], T]):
        self._spill, self._id, self._len, self._decode = spill, list_id, length, decode

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[T]:
        for start in range(0, self._len, _PAGE):
            yield from map(self._decode, self._spill.records(self._id, start, start + _PAGE))

    def _range(self, start: int, stop: int) -> Iterable[T]:
        return map(self._decode, self._spill.records(self._id, start, stop))

    def __repr__(self) -> str:
        return f"<{self._len} records, spilled>"


class Collector(Generic[T]):
    """Collects a list: a tuple while it has at most ``HELD`` items, else a ``SpilledList``."""

    def __init__(
        self, spill: Spill | None, encode: Callable[[T], str], decode: Callable[[str], T]
    ) -> None:
        self._spill, self._encode, self._decode = spill, encode, decode
        self._held: list[T] = []
        self._appender: Appender | None = None

    def append(self, value: T) -> None:
        if self._appender is not None:
            self._appender.append(self._encode(value))
            return
        self._held.append(value)
        if len(self._held) > HELD and self._spill is not None:
            self._appender = self._spill.appender()
            for held in self._held:
                self._appender.append(self._encode(held))
            self._held = []

    def __len__(self) -> int:
        return len(self._held) if self._appender is None else self._appender.count

    def done(self) -> Sequence[T]:
        if self._appender is None:
            return tuple(self._held)
        assert self._spill is not None
        self._appender.flush()
        return SpilledList(self._spill, self._appender.list_id, self._appender.count, self._decode)


def item_record(item: Item) -> list[Any]:
    """An item as a spill record (the spill's own, never a plan file's): every field."""
    return [
        item.campaign, item.campaign_id, item.key, item.lead_id, item.email,
        item.tokens, item.source, item.row, item.synced, item.create_fields,
    ]  # fmt: skip


def item_from(record: Sequence[Any]) -> Item:
    campaign, campaign_id, key, lead_id, email, tokens, source, row, synced, create = record
    return Item(
        campaign=campaign, campaign_id=campaign_id, key=key, lead_id=lead_id, email=email,
        tokens=_pairs(tokens), source=source, row=row, synced=_pairs(synced),
        create_fields=_pairs(create),
    )  # fmt: skip


def encode_item(item: Item) -> str:
    return json.dumps(item_record(item))


def decode_item(data: str) -> Item:
    return item_from(json.loads(data))


def encode_invalid(item: InvalidItem) -> str:
    return json.dumps(
        [item.campaign, item.campaign_id, item.source, item.row, item.reason, item.key]
    )


def decode_invalid(data: str) -> InvalidItem:
    campaign, campaign_id, source, row, reason, key = json.loads(data)
    return InvalidItem(
        campaign=campaign, campaign_id=campaign_id, source=source, row=row, reason=reason, key=key
    )


def _pairs(pairs: Sequence[Sequence[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in pairs)
