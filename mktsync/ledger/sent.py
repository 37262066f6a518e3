"""Sends recorded without a call: a baseline of what went out before mktsync.

>>> record_sent(ledger, run_id, records, why="old log")    # doctest: +SKIP

``record_sent`` writes ``sent`` records for sends that happened outside mktsync (a
baseline: ``apply --record-only``, ``ledger import``); a record already ``sent`` is left
as it is, a ``failed``/``unknown``/``pending`` one becomes ``sent``.  It writes them all
in one transaction, a page at a time: a million records, or none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from mktsync.items import Tokens, token_hash
from mktsync.ledger.core import Ledger
from mktsync.ledger.integrity import record_checksum
from mktsync.ledger.records import utc_now
from mktsync.ledger.rows import RECORD_COLUMNS, encode_tokens

T = TypeVar("T")
_PAGE = 1000  # records a statement batch writes
_INSERT_SENT = f"""
INSERT INTO items ({RECORD_COLUMNS})
VALUES (?, ?, ?, ?, ?, ?, 'sent', 0, NULL, NULL, ?, ?, ?, ?, ?)
ON CONFLICT (campaign_id, key) DO UPDATE SET
    lead = excluded.lead, lead_id = excluded.lead_id, tokens = excluded.tokens,
    token_hash = excluded.token_hash, status = 'sent', error_code = NULL,
    error_message = excluded.error_message, run_id = excluded.run_id,
    updated_at = excluded.updated_at, checksum = excluded.checksum
WHERE items.status <> 'sent'
"""


@dataclass(frozen=True, kw_only=True)
class SentRecord:
    """One send that happened outside mktsync, to be recorded as ``sent``."""

    campaign_id: int
    key: str
    lead: str
    lead_id: int | None
    tokens: Tokens
    sent_at: str | None = None  # ISO 8601 as the export says; default: now


def record_sent(
    ledger: Ledger,
    run_id: int,
    records: Iterable[SentRecord],
    *,
    why: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``records`` as ``sent`` under ``run_id`` (needs the run lock); return how many
    records were written (those already ``sent`` are kept, not counted).

    All in one transaction: an error or a kill part-way writes none of them.  ``records``
    is read a page at a time, so a generator keeps memory flat however many there are;
    ``progress(done)`` is called after each page (1,000 records, or 4 MB of text).
    """
    now = utc_now()
    note = f"recorded without a call: {why}"
    written = done = 0
    encoded: dict[Tokens, tuple[str, str]] = {}  # many records share one token set
    with ledger.transaction(writing="record_sent", locked=True) as tx:
        for page in pages(records, size=_record_size):
            rows = []
            for r in page:
                text, thash = encoded.get(r.tokens) or _encode(encoded, r.tokens)
                rows.append(
                    (r.campaign_id, r.key, r.lead, r.lead_id, text, thash,
                     note, run_id, r.sent_at or now, now,
                     record_checksum(r.campaign_id, r.key, "sent", thash, r.lead))
                )  # fmt: skip
            written += tx.executemany(_INSERT_SENT, rows)  # rows inserted or updated
            done += len(rows)
            if progress is not None:
                progress(done)
        if written:
            tx.items_changed()
    return written


def pages(
    items: Iterable[T], *, size: Callable[[T], int], count: int = _PAGE, chars: int = 4 << 20
) -> Iterator[list[T]]:
    """``items`` in lists of ``count``, or fewer when their ``size`` reaches ``chars``
    characters first: a page of long values (per-lead HTML) stays a few megabytes."""
    page: list[T] = []
    held = 0
    for item in items:
        page.append(item)
        held += size(item)
        if len(page) >= count or held >= chars:
            yield page
            page, held = [], 0
    if page:
        yield page


def _record_size(record: SentRecord) -> int:
    return len(record.key) + sum(len(v) for _, v in record.tokens)


def _encode(encoded: dict[Tokens, tuple[str, str]], tokens: Tokens) -> tuple[str, str]:
    """(stored JSON, hash) of a token set, remembered for the next records when it is
    short (1,024 sets of 1,024 characters at most: a per-lead HTML block is not kept)."""
    result = (encode_tokens(tokens), token_hash(tokens))
    if len(result[0]) <= 1024:
        if len(encoded) >= 1024:
            encoded.clear()
        encoded[tokens] = result
    return result
