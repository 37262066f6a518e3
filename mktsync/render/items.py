"""Rows to items: one campaign's templates applied to each row of its source.

>>> for result in iter_items(config, config.campaigns["webinar-reminder"]):   # doctest: +SKIP
...     print(result)
Item(campaign='webinar-reminder', campaign_id=1234, key='ada@example.com/wb-101', ...)
FilteredRow(campaign='webinar-reminder', campaign_id=1234, source='registrations', row=3)
InvalidItem(..., row=4, reason="lead.email: 'row' has no attribute 'email'")

Each row gives exactly one result:

- ``FilteredRow`` when ``when`` renders ``""``, ``False``, ``false``, ``0`` or ``None``
  (after stripping whitespace);
- ``InvalidItem`` when any template fails (missing column, sandbox refusal, filter
  error), ``lead.id`` is not a positive integer, ``lead.email`` is not a plausible
  address, the key is empty, a protected lead field's value may not be written (a
  consent flag that would grant consent without ``grant_consent``, or is no boolean:
  ``config.protected``), or the key was already used by an earlier row of this
  campaign (the first row wins).  The reason names each failing field;
- ``Item`` otherwise: the email trimmed and lower-cased, the key (default: the lead
  reference, ``id:123`` or the email) stripped, tokens sorted by name.

An invalid row never stops the rendering; :func:`check_invalid_limit` is what enforces
``max_invalid`` (default 0: any invalid row fails the plan) and refuses a source whose
every row is invalid.  Duplicate detection keeps a 16-byte digest and the first row number
per distinct key by default (about 160 bytes of peak memory per distinct key, 115 MB for
800,000, measured in ``benchmarks/bench_render.py``); ``plan`` passes a check that stays
flat (``render.keys``).  The rest of the path streams.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from mktsync.config.model import Campaign, Config, SourceSpec
from mktsync.config.protected import field_guard
from mktsync.dates import instant
from mktsync.errors import PlanError, personal
from mktsync.items import FilteredRow, InvalidItem, Item
from mktsync.render.campaign import CompiledCampaign, filtered_by, record_factory
from mktsync.render.fast import Render
from mktsync.render.keys import FirstRows, KeyCheck
from mktsync.render.limits import oversized
from mktsync.render.values import WhenMiss, WhenValues
from mktsync.row import Row
from mktsync.sources import SOURCES, iter_rows
from mktsync.sources.columns import EMAIL, convert, declared

SHOWN_INVALID = 20  # invalid rows listed in the error; the rest are counted


def iter_items(
    config: Config,
    campaign: Campaign,
    *,
    now: datetime | None = None,
    keys: KeyCheck | None = None,
    when_misses: Callable[[list[WhenMiss]], None] | None = None,
) -> Iterator[Item | InvalidItem | FilteredRow]:
    """One result per row of the campaign's source, in source order (see the module doc).

    ``keys`` decides which rows repeat an earlier key (default: ``FirstRows``, exact;
    ``plan`` passes one that stays flat in memory, see ``render.keys``).
    ``when_misses``: called once the last row is read, with the literals of ``when`` that
    no row holds (``render.values``; ``plan`` warns of them)."""
    now = instant(now, config.timezone)  # held in the config's zone: ``today`` is its date there
    spec = config.sources[campaign.source]
    limit = config.max_value_bytes
    # A character is at most 4 bytes: the happy path checks lengths, and hands the rare
    # longer value to the careful path, checked by `oversized`.
    compiled = CompiledCampaign.build(campaign, spec.name, max_chars=limit // 4)
    name, campaign_id, source = campaign.name, campaign.campaign_id, spec.name
    first_row = FirstRows() if keys is None else keys
    make_filtered = record_factory(FilteredRow)
    # Only a campaign writing a protected lead field gets a check per row.
    guard = field_guard(campaign)
    records, happy, to_row, header = _stream(spec, compiled)
    watched = watch = None
    if when_misses is not None and campaign.when is not None:
        watched = watch = WhenValues.of(name, campaign.when.text, header)
    for number, data in records:
        if watch is not None and data.__class__ is not str and watch.see(data):
            watch = None  # every literal met: nothing left to look for
        if data.__class__ is str:  # a typed column did not convert: the reason
            yield InvalidItem(
                campaign=name, campaign_id=campaign_id, source=source, row=number, reason=data
            )
            continue
        try:
            item = happy(data, number, now)
        except Exception:  # Unusual, or a template error: the careful path names the fields
            result = _render_carefully(compiled, to_row(data), number, now, source)
            if not isinstance(result, Item):
                yield result
                continue
            item = result
            too_big = oversized(item, limit)
            if too_big is not None:
                yield InvalidItem(
                    campaign=name,
                    campaign_id=campaign_id,
                    source=source,
                    row=number,
                    reason=too_big,
                )
                continue
        if item is None:
            yield make_filtered(name, campaign_id, source, number)
            continue
        if guard is not None and item.fields:  # protected lead fields (issue 25)
            refused = guard(item.fields)
            if refused is not None:
                yield InvalidItem(
                    campaign=name,
                    campaign_id=campaign_id,
                    source=source,
                    row=number,
                    reason=refused,
                    key=item.key,
                )
                continue
        first = first_row(item.key, number)
        if first is not None:
            yield InvalidItem(
                campaign=name,
                campaign_id=campaign_id,
                source=source,
                row=number,
                reason=f"duplicate key, first seen at {first}",
                key=item.key,
            )
            continue
        yield item
    if when_misses is not None:
        when_misses(watched.misses() if watched is not None else [])


def _stream(
    spec: SourceSpec, compiled: CompiledCampaign
) -> tuple[
    Iterator[tuple[int, Any]],
    Callable[[Any, int, datetime], Item | None],
    Callable[[Any], Row],
    list[str] | None,
]:
    """(records, happy path, record -> Row, header): cells by position when the source and
    templates allow (then ``header`` names the positions; else records are ``Row``s).

    With declared ``columns:``, each row is converted first; a row that does not convert
    comes as the reason (a ``str``) instead.
    """
    if declared(spec.options):
        return source_rows(spec), compiled.happy, _same, None
    iter_records = getattr(SOURCES.get(spec.type), "iter_records", None)
    if iter_records is not None:
        header, cells = iter_records(spec)
        by_position = compiled.for_header(header)
        if by_position is not None:
            return cells, by_position, lambda r: Row(zip(header, r, strict=True)), header
        rows: Iterator[tuple[int, Any]] = ((n, Row(zip(header, c, strict=True))) for n, c in cells)
    else:
        rows = source_rows(spec)
    return rows, compiled.happy, _same, None


def _same(row: Row) -> Row:
    return row


def source_rows(spec: SourceSpec) -> Iterator[tuple[int, Row | str]]:
    """Each row of the source, numbered, as a ``Row`` with its declared ``columns:``
    converted; a row that does not convert comes as the reason instead (a ``str``)."""
    types = declared(spec.options)
    rows = ((n, r if type(r) is Row else Row(r)) for n, r in iter_rows(spec))
    return ((n, convert(r, types)) for n, r in rows) if types else rows


def _render_carefully(
    compiled: CompiledCampaign, row: Row, number: int, now: datetime, source: str
) -> Item | InvalidItem | FilteredRow:
    """The row's result with every failing field named (the slow path: errors only)."""
    campaign = compiled.campaign
    errors: list[str] = []
    if compiled.when is not None:
        try:
            if filtered_by(compiled.when(row, now)):
                return FilteredRow(
                    campaign=campaign.name,
                    campaign_id=campaign.campaign_id,
                    source=source,
                    row=number,
                )
        except Exception as exc:
            errors.append(_reason("when", exc))
    key, the_id, the_email = _lead(row, now, compiled.lead_id, compiled.email, errors)
    if compiled.key is not None:
        try:
            key = compiled.key(row, now).strip()
            if not key:
                errors.append("key: renders empty")
        except Exception as exc:
            errors.append(_reason("key", exc))
            key = None
    values = _render_all(row, now, compiled.tokens, "tokens.", errors)
    prefix = _field_prefix(campaign)
    synced: list[tuple[str, str]] = []
    create: list[tuple[str, str]] = []
    for name, render, is_synced in compiled.fields:  # in name order, as errors are named
        try:
            (synced if is_synced else create).append((name, render(row, now)))
        except Exception as exc:
            errors.append(_reason(prefix + name, exc))
    if errors or not key:
        return InvalidItem(
            campaign=campaign.name,
            campaign_id=campaign.campaign_id,
            source=source,
            row=number,
            reason="; ".join(errors),
            key=key or None,
        )
    return Item(
        campaign=campaign.name,
        campaign_id=campaign.campaign_id,
        key=key,
        lead_id=the_id,
        email=the_email,
        tokens=values,
        source=source,
        row=number,
        synced=tuple(synced),
        create_fields=tuple(create),
    )


def check_invalid_limit(
    campaign: Campaign, invalid: Sequence[InvalidItem] | int, rows: int | None = None
) -> None:
    """Raise ``PlanError`` past the campaign's ``max_invalid``, or when every row is invalid.

    ``invalid`` is the campaign's invalid items (or only their count), ``rows`` how many
    rows its source gave (for ``max_invalid: 2%`` and the all-invalid rule).  The message
    lists the first :data:`SHOWN_INVALID` rows with their reasons, then a count.
    """
    count = invalid if isinstance(invalid, int) else len(invalid)
    if not count:
        return
    limit = invalid_allowed(campaign.max_invalid, rows)
    every = rows is not None and count >= rows
    if not every and (limit is None or count <= limit):
        return
    where = f"{campaign.position}: campaigns.{campaign.name}"
    rows_are = "row is" if count == 1 else "rows are"
    if every:
        head = (
            f"{where}: every row of source '{campaign.source}' is invalid ({count}); "
            "check the source against the templates (a renamed column, another delimiter?)"
        )
    else:
        written = campaign.max_invalid
        shown = f"{written}, {limit} of {rows} rows" if isinstance(written, str) else f"{written}"
        head = (
            f"{where}: {count} {rows_are} invalid, more than max_invalid ({shown}); "
            "fix the source or raise max_invalid"
        )
    lines = [head]
    if not isinstance(invalid, int):
        lines += [f"  {i.source} row {i.row}: {i.reason}" for i in invalid[:SHOWN_INVALID]]
        if count > SHOWN_INVALID:
            lines.append(f"  ... and {count - SHOWN_INVALID:,} more invalid rows")
    listed = () if isinstance(invalid, int) else tuple(invalid[:SHOWN_INVALID])
    raise PlanError("\n".join(lines), invalid=listed)


def invalid_allowed(max_invalid: int | str | None, rows: int | None) -> int | None:
    """How many invalid rows ``max_invalid`` allows: ``25``, or ``"2%"`` of ``rows`` (rounded
    down); None means no limit."""
    if max_invalid is None or isinstance(max_invalid, int):
        return max_invalid
    share = float(max_invalid.strip().rstrip("%"))
    return math.floor((rows or 0) * share / 100)


def _lead(
    row: Row, now: datetime, lead_id: Render | None, email: Render | None, errors: list[str]
) -> tuple[str | None, int | None, str | None]:
    """(lead reference, id, email); exactly one of id and email is set when it succeeds."""
    if lead_id is not None:
        try:
            text = lead_id(row, now).strip()
        except Exception as exc:
            errors.append(_reason("lead.id", exc))
            return None, None, None
        if text.isascii() and text.isdigit() and int(text) > 0:
            number = int(text)
            return f"id:{number}", number, None
        if text or email is None:
            shown = personal(text) if "@" in text else repr(text)
            errors.append(f"lead.id: {shown} is not a positive integer")
            return None, None, None
    if email is None:
        errors.append("lead: neither 'id' nor 'email' is set")
        return None, None, None
    try:
        address = email(row, now).strip().lower()
    except Exception as exc:
        errors.append(_reason("lead.email", exc))
        return None, None, None
    if not address:
        errors.append("lead.email: renders empty")
    elif not EMAIL.fullmatch(address):
        # Marked, never masked here: each display masks it unless --show-pii.
        errors.append(f"lead.email: {personal(address)} is not a plausible e-mail address")
    else:
        return address, None, address
    return None, None, None


def _field_prefix(campaign: Campaign) -> str:
    """How a field's failure is named: ``fields.X`` when declared there, else ``lead.fields.X``."""
    return "fields." if campaign.fields else "lead.fields."


def _render_all(
    row: Row,
    now: datetime,
    renders: tuple[tuple[str, Render], ...],
    prefix: str,
    errors: list[str],
) -> tuple[tuple[str, str], ...]:
    values = []
    for name, render in renders:
        try:
            values.append((name, render(row, now)))
        except Exception as exc:
            errors.append(_reason(prefix + name, exc))
    return tuple(values)


def _reason(field: str, exc: Exception) -> str:
    message = str(exc).strip().rstrip(".") or type(exc).__name__
    return f"{field}: {message}"
