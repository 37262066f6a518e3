"""Rows <-> records: the column lists the ledger's SQL selects, and their decoding."""

from __future__ import annotations

import json
from typing import Any, cast

from mktsync.items import Tokens, token_hash
from mktsync.ledger.integrity import check_record, damaged_record
from mktsync.ledger.records import LedgerRecord, RunRecord, Status
from mktsync.ledger.store import Row

RECORD_COLUMNS = (
    "campaign_id, key, lead, lead_id, tokens, token_hash, status, attempts, request_id,"
    " error_code, error_message, run_id, created_at, updated_at, checksum"
)
RUN_COLUMNS = (
    "run_id, command, config_digest, git_commit, who, started_at, finished_at, counts,"
    " exit_status, note"
)


def encode_tokens(tokens: Tokens) -> str:
    """Tokens as stored: a compact JSON list of ``[name, value]`` pairs, sorted by name."""
    return json.dumps(sorted(tokens), ensure_ascii=False, separators=(",", ":"))


class TokenDecoder:
    """JSON token sets -> (tokens, their hash), memoised: many records share one token set.

    ``name`` (the ledger's, for messages) is what a damaged record's error names.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._seen: dict[str, tuple[Tokens, str]] = {}

    def __call__(self, text: str) -> tuple[Tokens, str] | None:
        found = self._seen.get(text)
        if found is None:
            try:
                tokens = tuple((str(name), str(value)) for name, value in json.loads(text))
                found = (tokens, token_hash(tokens))
            except (TypeError, ValueError):  # damaged JSON or text: never echo it
                return None
            if len(self._seen) < 100_000:
                self._seen[text] = found
        return found


def record(row: Row, decode: TokenDecoder) -> LedgerRecord:
    """The record of a row, after checking its checksum and its tokens against their hash."""
    check_record(decode.name, row[0], row[1], row[6], row[5], row[2], row[14])
    decoded = decode(row[4]) if isinstance(row[4], str) else None
    if decoded is None or decoded[1] != row[5]:
        raise damaged_record(decode.name, row[0], row[1], "has tokens that do not match their hash")
    return LedgerRecord(
        campaign_id=row[0],
        key=row[1],
        lead=row[2],
        lead_id=row[3],
        tokens=decoded[0],
        token_hash=row[5],
        status=cast(Status, row[6]),
        attempts=row[7],
        request_id=row[8],
        error_code=row[9],
        error_message=row[10],
        run_id=row[11],
        created_at=row[12],
        updated_at=row[13],
    )


def run_record(row: Row) -> RunRecord:
    note = row[9]
    try:
        counts: Any = json.loads(row[7]) if row[7] else {}
        if not isinstance(counts, dict):
            raise ValueError(counts)
    except (TypeError, ValueError):  # a damaged byte: say so, never echo it
        counts, note = {}, "; ".join(filter(None, [note, "counts unreadable (damaged)"]))
    return RunRecord(
        run_id=int(row[0]),
        command=row[1],
        config_digest=row[2],
        git_commit=row[3],
        who=row[4],
        started_at=row[5],
        finished_at=row[6],
        counts=counts,
        exit_status=row[8],
        note=note,
    )
