"""``open_ledger``: a ledger URL read, its store picked, the ledger opened (DESIGN.md, "ledger").

>>> with open_ledger("sqlite:///.mktsync/ledger.db", base_dir) as ledger:  # doctest: +SKIP
...     records = ledger.lookup(1234, ["ann@example.com/w1"])

A store's module is imported when a URL names it (the PostgreSQL one only for a
PostgreSQL ledger).
"""

from __future__ import annotations

from pathlib import Path

from mktsync.errors import LedgerError
from mktsync.ledger.core import Ledger


def open_ledger(
    url: str, base_dir: Path, *, create: bool = True, read_only: bool | None = None
) -> Ledger:
    """Open (and, if needed, create or migrate) the ledger at ``url``.

    ``sqlite:///relative/path.db`` is relative to ``base_dir`` (the config file's folder),
    ``sqlite:////abs/path.db`` absolute, ``sqlite:///:memory:`` a throwaway ledger, and
    ``postgresql://user@host/db`` a PostgreSQL database (``pip install mktsync[postgres]``).

    ``create=False`` (for ``plan``) creates nothing: a missing SQLite file gives an empty,
    in-memory view, and an old schema is migrated in memory only. It implies
    ``read_only`` unless that is given: writes then raise ``LedgerError``.
    """
    read_only = (not create) if read_only is None else read_only
    if url.startswith("sqlite://"):
        from mktsync.ledger.sqlite_open import open_memory, open_sqlite

        rest = url.removeprefix("sqlite://")
        if not rest.startswith("/") or rest == "/":
            raise LedgerError(
                f"ledger URL {url!r}: write sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        path_text = rest[1:]
        if path_text == ":memory:":
            return Ledger(open_memory(read_only=read_only))
        path = Path(path_text)
        return Ledger(open_sqlite(base_dir / path, create=create, read_only=read_only))
    if url.startswith(("postgresql://", "postgres://")):
        from mktsync.ledger.postgres import open_postgres

        return Ledger(open_postgres(url, create=create, read_only=read_only))
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise LedgerError(
        f"ledger URL {scheme!r}...: unsupported; use sqlite:///path.db or postgresql://..."
    )
