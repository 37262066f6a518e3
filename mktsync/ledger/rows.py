"""Rows <-> records: the column lists the ledger's SQL selects, and their decoding."""

from __future__ import annotations

import json
from typing import Any, cast

from mktsync.items import Tokens
from mktsync.ledger.records import LedgerRecord, RunRecord, Status
from mktsync.ledger.store import Row

RECORD_COLUMNS = (
    "campaign_id, key, lead, lead_id, tokens, token_hash, status, attempts, request_id,"
    " error_code, error_message, run_id, created_at, updated_at"
)
RUN_COLUMNS = (
    "run_id, command, config_digest, git_commit, who, started_at, finished_at, counts,"
    " exit_status, note"
)


def encode_tokens(tokens: Tokens) -> str:
    """Tokens as stored: a compact JSON list of ``[name, value]`` pairs, sorted by name."""
    return json.dumps(sorted(tokens), ensure_ascii=False, separators=(",", ":"))


class TokenDecoder:
    """JSON token sets -> tuples, memoised: many records share one token set."""

    def __init__(self) -> None:
        self._seen: dict[str, Tokens] = {}

    def __call__(self, text: str) -> Tokens:
        tokens = self._seen.get(text)
        if tokens is None:
            tokens = tuple((str(name), str(value)) for name, value in json.loads(text))
            if len(self._seen) < 100_000:
                self._seen[text] = tokens
        return tokens


def record(row: Row, decode: TokenDecoder) -> LedgerRecord:
    return LedgerRecord(
        campaign_id=row[0],
        key=row[1],
        lead=row[2],
        lead_id=row[3],
        tokens=decode(row[4]),
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
    counts: Any = json.loads(row[7]) if row[7] else {}
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
        note=row[9],
    )
