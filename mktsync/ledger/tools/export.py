"""``mktsync ledger export``: every record as CSV or JSON lines, or a copy of an SQLite file.

Read a page at a time, whatever the ledger's size; the ledger is opened to read, never
created.  A file is written beside its destination and renamed when complete.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any, TextIO

from mktsync.errors import MktsyncError
from mktsync.ledger.csvcells import EXPORT_COLUMNS, neutralise
from mktsync.ledger.records import LedgerRecord
from mktsync.ledger.tools.target import LedgerTarget, reading

__all__ = [
    "EXPORT_COLUMNS",
    "export",
    "export_sqlite",
    "export_to_file",
    "record_dict",
]


def record_dict(rec: LedgerRecord) -> dict[str, Any]:
    """A record as JSON-ready data, in ``EXPORT_COLUMNS`` order; tokens as an object."""
    data = {name: getattr(rec, name) for name in EXPORT_COLUMNS}
    data["tokens"] = dict(rec.tokens)
    return data


def export(target: LedgerTarget, out: TextIO, *, fmt: str, campaign_id: int | None = None) -> int:
    """Write every record (of one campaign) as ``csv`` or ``jsonl``, a page at a time.

    CSV: a header of ``EXPORT_COLUMNS``; an empty cell is null; tokens a JSON object; a
    cell a spreadsheet would run as a formula gets a quote in front (``ledger.csvcells``),
    which ``ledger import`` takes off again.  Returns the number of records written.
    """
    if fmt not in ("csv", "jsonl"):
        raise MktsyncError(f"unknown export format {fmt!r}: use csv or jsonl")
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    written = 0
    with reading(target) as ledger:
        if writer:  # only once the ledger is open: a failure leaves nothing on stdout
            writer.writerow(EXPORT_COLUMNS)
        for rec in ledger.iter_records(campaign_id):
            data = record_dict(rec)
            if writer:
                data["tokens"] = json.dumps(data["tokens"], ensure_ascii=False)
                writer.writerow(["" if v is None else neutralise(str(v)) for v in data.values()])
            else:
                out.write(json.dumps(data, ensure_ascii=False) + "\n")
            written += 1
    return written


def export_to_file(
    target: LedgerTarget, path: Path, *, fmt: str, campaign_id: int | None = None
) -> int:
    """``export`` into ``path``, which appears only when complete (a temp file, then a rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            written = export(target, f, fmt=fmt, campaign_id=campaign_id)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written


def export_sqlite(target: LedgerTarget, out: Path) -> int:
    """A consistent single-file copy of an SQLite ledger at ``out``; the records in it."""
    with reading(target) as ledger:
        return ledger.export_sqlite(out)
