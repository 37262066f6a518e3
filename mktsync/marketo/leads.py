"""Lead look-ups and creation: batching at 300, paging, and the 8 KB URL fallback.

>>> find_leads_by_email(caller, "https://123-ABC-456.mktorest.com", ["A@x.com"])  # doctest: +SKIP
{'a@x.com': 318581}

``MarketoClient`` exposes these as methods; they live here to keep one job a module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from mktsync.marketo.records import CreateResult
from mktsync.marketo.transport import SYNC_TIMEOUT, Caller

MAX_FILTER_VALUES = 300  # Get Leads by Filter Type, and Sync Leads' input
MAX_URL_BYTES = 8 * 1024  # past this Marketo answers HTTP 414
T = TypeVar("T")


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def find_leads_by_email(caller: Caller, base_url: str, emails: Sequence[str]) -> dict[str, int]:
    """Lower-cased email -> lead id for the emails Marketo knows (300 values a call).

    When several leads share an email the **lowest id** wins: the oldest record, and
    the same answer on every run whatever order Marketo lists them in.
    """
    wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e.strip()))
    found: dict[str, int] = {}
    for batch in chunks(wanted, MAX_FILTER_VALUES):
        for lead in _leads_by_filter(caller, base_url, "email", batch, "id,email"):
            email, lead_id = lead.get("email"), int_or_none(lead.get("id"))
            if not isinstance(email, str) or lead_id is None:
                continue
            key = email.lower()
            if key in found:
                found[key] = min(found[key], lead_id)
            else:
                found[key] = lead_id
    wanted_set = set(wanted)
    return {k: v for k, v in found.items() if k in wanted_set}


def find_leads_by_id(caller: Caller, base_url: str, ids: Sequence[int]) -> set[int]:
    """Which of these lead ids exist (300 values a call)."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    existing: set[int] = set()
    for batch in chunks(wanted, MAX_FILTER_VALUES):
        values = [str(i) for i in batch]
        for lead in _leads_by_filter(caller, base_url, "id", values, "id"):
            lead_id = int_or_none(lead.get("id"))
            if lead_id is not None:
                existing.add(lead_id)
    return existing & set(wanted)


def _leads_by_filter(
    caller: Caller, base_url: str, filter_type: str, values: Sequence[str], fields: str
) -> Iterator[Mapping[str, Any]]:
    params = {
        "filterType": filter_type,
        "filterValues": ",".join(values),
        "fields": fields,
        "batchSize": str(MAX_FILTER_VALUES),
    }
    # Marketo refuses more than 1,000 matches (1003): 4 pages at most; the bound only guards
    # against a server that never stops saying moreResult.
    for _page in range(100):
        url = httpx.URL(f"{base_url}/rest/v1/leads.json", params=params)
        if len(str(url).encode()) <= MAX_URL_BYTES:
            body = caller.call(
                "leads_get", "GET", "/rest/v1/leads.json", params=params, idempotent=True
            )
        else:  # Marketo's documented way round the 8 KB URL limit
            body = caller.call(
                "leads_get",
                "POST",
                "/rest/v1/leads.json",
                params={"_method": "GET"},
                form=params,
                idempotent=True,
            )
        yield from (r for r in body.get("result") or [] if isinstance(r, Mapping))
        token = body.get("nextPageToken")
        if not body.get("moreResult") or not token:
            return
        params = {**params, "nextPageToken": str(token)}


def create_leads(caller: Caller, records: Sequence[Mapping[str, str]]) -> list[CreateResult]:
    """Create leads (``createOnly``, 300 a call); one result per record, in input order.

    Not retried once sent: a lost answer raises ``OutcomeUnknown``.
    """
    results: list[CreateResult] = []
    for offset, batch in enumerate(chunks(list(records), MAX_FILTER_VALUES)):
        body = caller.call(
            "leads_sync",
            "POST",
            "/rest/v1/leads.json",
            json_body={
                "action": "createOnly",
                "lookupField": "email",
                "input": [dict(r) for r in batch],
            },
            idempotent=False,
            timeout=SYNC_TIMEOUT,
        )
        start = offset * MAX_FILTER_VALUES
        answers = list(body.get("result") or [])
        for i in range(len(batch)):
            item = answers[i] if i < len(answers) and isinstance(answers[i], Mapping) else {}
            results.append(_create_result(start + i, item))
    return results


def _create_result(index: int, item: Mapping[str, Any]) -> CreateResult:
    status = item.get("status")
    if status in ("created", "updated"):
        return CreateResult(index=index, status=status, id=int_or_none(item.get("id")))
    reasons = [r for r in item.get("reasons") or [] if isinstance(r, Mapping)]
    first = reasons[0] if reasons else {}
    return CreateResult(
        index=index,
        status="skipped",
        reason_code=str(first["code"]) if "code" in first else None,
        reason=str(first.get("message", "no result for this record")),
    )


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
