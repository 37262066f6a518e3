"""The file ``ledger import`` reads: checked row by row, kept on disk, never all in memory.

>>> with SentFile(Path("sent.csv"), campaign, now=now) as sends:     # doctest: +SKIP
...     sends.first_rows(["ada@example.com/wb-101"])
{'ada@example.com/wb-101': ('2026-11-03T10:00:00.000Z', {})}

Two layouts (docs/ledger.md, "Adopting mktsync"):

- an export of earlier sends: a ``key`` column, optional ``sent_at`` and My Token
  columns (``my.Name``), cells taken as written;
- the ledger's own CSV export (``mktsync ledger export``; its header starts with
  ``EXPORT_COLUMNS``): its records of the campaign's id whose status is ``sent``, with
  ``created_at`` as the time sent and the ``tokens`` object as the values sent; the
  quote the export puts before formula-leading cells is taken off (``csvcells``).
  Records in another status are skipped and counted; another campaign id is an error.

Every problem is an error naming the file, the line and the column, and stops the
import before the ledger is opened.  The rows go into a private temporary SQLite
database (``sqlite3.connect("")``: a file in the temp folder, removed on close or when
the process dies), so a million rows cost disk, not memory; the caller then looks keys
up a batch at a time (``first_rows``), sets the records to write aside (``accept``),
asks which lines were never accepted (``refused``) and reads the records back in key
order (``accepted``).  Memory: one batch, and SQLite's 16 MB page cache.
"""

from __future__ import annotations

import csv
import functools
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

from mktsync.config.checker import normalise_token_name
from mktsync.config.model import Campaign
from mktsync.errors import MktsyncError, disk_full, no_temp_space, one_line
from mktsync.items import Tokens
from mktsync.ledger.csvcells import EXPORT_COLUMNS, restore
from mktsync.ledger.rows import encode_tokens
from mktsync.ledger.sent import SentRecord, pages

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # a send before this is a placeholder, not a send
CLOCK_SLACK = timedelta(minutes=5)  # another machine's clock may run a little ahead
PROGRESS_EVERY = 10_000  # rows between progress calls
_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
_NONE: Mapping[str, str] = MappingProxyType({})


def _row_size(row: tuple[int, str, str | None, str | None]) -> int:
    return len(row[1]) + len(row[3] or "")


def _memo(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``function`` remembered for small arguments: token sets repeat (a webinar's title
    for all its leads), so their JSON is made once; a long value (a per-lead HTML block)
    is not kept, so the caches hold at most 1,024 entries of 1,024 characters."""
    cached = functools.lru_cache(maxsize=1024)(function)

    def call(arg: Any) -> Any:
        size = len(arg) if isinstance(arg, str) else sum(len(n) + len(v) for n, v in arg)
        return cached(arg) if size <= 1024 else function(arg)

    return call


@_memo
def _given(values: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(values), ensure_ascii=False)


@_memo
def _given_back(text: str) -> Mapping[str, str]:
    return MappingProxyType(json.loads(text))


@_memo
def _encoded(tokens: Tokens) -> str:
    return encode_tokens(tokens)


@_memo
def _decoded(text: str) -> Tokens:
    return tuple((str(n), str(v)) for n, v in json.loads(text))


@dataclass(frozen=True, kw_only=True)
class _Layout:
    width: int  # cells a row must have
    key: int
    sent_at: int | None
    sent_at_name: str  # the column named in errors
    tokens: dict[int, str]  # column -> token name ({{my.Name}}); the plain layout
    names: dict[str, str]  # token name -> its column's header, for errors
    export: bool  # the ledger's own export (campaign_id, status, tokens as JSON)


class SentFile:
    """An import file's rows, checked, in a temporary database (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        campaign: Campaign,
        *,
        now: datetime | None = None,
        max_value_bytes: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.path, self.name, self.campaign = path, path.name, campaign
        self.max_value_bytes = max_value_bytes  # no key or value rendered is longer
        self.now = datetime.now(UTC) if now is None else now
        self.rows = 0  # data rows read (blank lines aside)
        self.skipped: Counter[str] = Counter()  # the ledger's export: records not 'sent'
        self._tokens = {t.name for t in campaign.tokens}
        self._fields = {f"lead.{name}" for name, _ in campaign.fields}
        self._progress = progress
        self._next_line = 1  # the line the next row starts on
        self._conn = sqlite3.connect("", isolation_level=None)
        try:
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -16384"):
                self._conn.execute(f"PRAGMA {pragma}")
            self._conn.execute(
                "CREATE TABLE lines (line INTEGER PRIMARY KEY, key TEXT NOT NULL,"
                " sent_at TEXT, tokens TEXT)"
            )
            self._conn.execute(
                "CREATE TABLE records (key TEXT PRIMARY KEY, lead TEXT NOT NULL,"
                " lead_id INTEGER, tokens TEXT NOT NULL, sent_at TEXT) WITHOUT ROWID"
            )
            # One transaction for everything written here: in autocommit each statement
            # would be a transaction of its own (ten times slower); nothing is kept anyway.
            self._conn.execute("BEGIN")
            self._load()
            # One index built after the load (a sort) instead of kept up to date per row.
            self._sql("CREATE INDEX lines_key ON lines (key, line)")
        except BaseException:
            self._conn.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    # -- what the caller asks -------------------------------------------------------------
    def first_rows(self, keys: Sequence[str]) -> dict[str, tuple[str | None, Mapping[str, str]]]:
        """Of ``keys``, those in the file -> (sent_at, token values) of their first row."""
        found: dict[str, tuple[str | None, Mapping[str, str]]] = {}
        marks = ", ".join("?" * len(keys))
        rows = self._sql(
            f"SELECT key, sent_at, tokens FROM lines WHERE key IN ({marks}) ORDER BY line", keys
        )
        for key, sent_at, tokens in rows:
            if key not in found:
                found[key] = (sent_at, _given_back(tokens) if tokens else _NONE)
        return found

    def accept(self, records: Sequence[SentRecord]) -> None:
        """Set these records aside to be written; a key accepted before keeps its record."""
        self._sql(
            "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?)",
            [(r.key, r.lead, r.lead_id, _encoded(r.tokens), r.sent_at) for r in records],
            many=True,
        )

    def refused(self, shown: int) -> tuple[int, list[tuple[int, str]]]:
        """How many lines hold a key never accepted, and the first ``shown`` (line, key)."""
        where = "WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.key = lines.key)"
        count = self._sql(f"SELECT COUNT(*) FROM lines {where}")[0][0]
        first = self._sql(f"SELECT line, key FROM lines {where} ORDER BY line LIMIT ?", (shown,))
        return int(count), [(int(line), str(key)) for line, key in first]

    def accepted_count(self) -> int:
        return int(self._sql("SELECT COUNT(*) FROM records")[0][0])

    def accepted(self) -> Iterator[SentRecord]:
        """The accepted records in key order (the ledger's order: its writes stay local)."""
        campaign_id = self.campaign.campaign_id
        cursor = self._conn.execute(
            "SELECT key, lead, lead_id, tokens, sent_at FROM records ORDER BY key"
        )
        for key, lead, lead_id, tokens, sent_at in cursor:
            yield SentRecord(
                campaign_id=campaign_id,
                key=key,
                lead=lead,
                lead_id=lead_id,
                tokens=_decoded(tokens),
                sent_at=sent_at,
            )

    # -- reading the file -----------------------------------------------------------------
    def _load(self) -> None:
        try:
            # surrogateescape: a byte that is not UTF-8 is found in its row, so the error
            # can name the line (a strict decoder fails somewhere in an 8 KB chunk).
            file = self.path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
        except OSError as exc:
            raise MktsyncError(f"{self.path}: cannot read: {exc.strerror}") from None
        with file:
            reader = csv.reader(file, strict=True)  # a stray quote is an error, as in sources
            try:
                header = next(reader, None)
                if header is None:
                    raise MktsyncError(f"{self.name}: the file is empty; it needs a 'key' column")
                layout = self._layout(header)
                rows = self._rows(reader, layout)
                for page in pages(rows, size=_row_size):
                    self._sql("INSERT INTO lines VALUES (?, ?, ?, ?)", page, many=True)
            except csv.Error as exc:
                reason = "unterminated quoted field" if "end of data" in str(exc) else exc
                raise MktsyncError(
                    f"{self.name}:{self._next_line}: not CSV this can read: {reason}"
                ) from None
            except OSError as exc:
                raise MktsyncError(f"{self.path}: cannot read: {exc.strerror}") from None
        self._report()

    def _layout(self, header: list[str]) -> _Layout:
        self._check_text(header, 1)
        if tuple(header[: len(EXPORT_COLUMNS)]) == EXPORT_COLUMNS:
            return _Layout(
                width=len(header),
                key=EXPORT_COLUMNS.index("key"),
                sent_at=EXPORT_COLUMNS.index("created_at"),
                sent_at_name="created_at",
                tokens={},
                names={},
                export=True,
            )
        if "key" not in header:
            raise MktsyncError(f"{self.name}:1: the export needs a 'key' column")
        twice = sorted({n for n in header if header.count(n) > 1})
        if twice:
            raise MktsyncError(f"{self.name}:1: column {one_line(repr(twice[0]))} appears twice")
        columns: dict[int, str] = {}
        for i, name in enumerate(header):
            if name in ("key", "sent_at"):
                continue
            try:
                token = normalise_token_name(name)
            except ValueError:
                raise MktsyncError(
                    f"{self.name}:1: column {one_line(repr(name))} is not key, sent_at or a"
                    " My Token (my.Name)"
                ) from None
            if token not in self._tokens:
                raise MktsyncError(
                    f"{self.name}:1: column {one_line(repr(name))}: the campaign sends no"
                    f" token {token}"
                )
            columns[i] = token
        return _Layout(
            width=len(header),
            key=header.index("key"),
            sent_at=header.index("sent_at") if "sent_at" in header else None,
            sent_at_name="sent_at",
            tokens=columns,
            names={token: header[i] for i, token in columns.items()},
            export=False,
        )

    def _rows(
        self, reader: Any, layout: _Layout
    ) -> Iterator[tuple[int, str, str | None, str | None]]:
        """(line, key, sent_at, token values as JSON) per data row, checked."""
        end = reader.line_num  # a quoted cell may span lines: a row starts after the last
        self._next_line = end + 1
        for cells in reader:
            line, end = end + 1, reader.line_num
            self._next_line = end + 1  # where a row the reader refuses starts
            joined = "".join(cells)
            if not joined.strip():
                continue
            if not joined.isascii() and _ESCAPED.search(joined):
                raise MktsyncError(f"{self.name}:{line}: not UTF-8 text")
            if len(cells) != layout.width:
                raise MktsyncError(
                    f"{self.name}:{line}: {len(cells)} cells, the header has {layout.width}"
                )
            if layout.export:
                cells = [restore(c) for c in cells]
                status = cells[EXPORT_COLUMNS.index("status")]
                self._check_campaign(cells[0], line)
                if status != "sent":
                    self.skipped[status] += 1
                    continue
                tokens = self._export_tokens(cells[EXPORT_COLUMNS.index("tokens")], line)
            else:
                tokens = {layout.tokens[i]: cells[i] for i in layout.tokens if cells[i] != ""}
            key = cells[layout.key].strip()
            if not key:
                raise MktsyncError(f"{self.name}:{line}: key: the key is empty")
            self._check_size(line, "key", key)
            for name, value in tokens.items():
                self._check_size(line, "tokens" if layout.export else layout.names[name], value)
            when = None
            if layout.sent_at is not None:
                when = self._sent_at(cells[layout.sent_at], line, layout.sent_at_name)
            self.rows += 1
            if self.rows % PROGRESS_EVERY == 0:
                self._report()
            yield line, key, when, _given(tuple(tokens.items())) if tokens else None

    def _check_size(self, line: int, column: str, value: str) -> None:
        """A value longer than ``max_value_bytes`` is one the campaign never renders (and a
        page of rows stays small)."""
        limit = self.max_value_bytes
        if limit is None or len(value) * 4 <= limit:  # a character is at most 4 bytes
            return
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise MktsyncError(
                f"{self.name}:{line}: {column}: {size:,} bytes, over max_value_bytes"
                f" ({limit:,}): longer than anything the campaign renders"
            )

    def _check_text(self, cells: list[str], line: int) -> None:
        joined = "".join(cells)
        if not joined.isascii() and _ESCAPED.search(joined):
            raise MktsyncError(f"{self.name}:{line}: not UTF-8 text")

    def _check_campaign(self, cell: str, line: int) -> None:
        if cell.strip() != str(self.campaign.campaign_id):
            raise MktsyncError(
                f"{self.name}:{line}: campaign_id: {one_line(repr(cell))} is not the id of"
                f" campaign '{self.campaign.name}' ({self.campaign.campaign_id}); export it"
                f" alone with `mktsync ledger export --campaign {self.campaign.name}`"
            )

    def _export_tokens(self, cell: str, line: int) -> dict[str, str]:
        """The ``tokens`` object of the ledger's export: My Tokens and lead fields sent."""
        where = f"{self.name}:{line}: tokens"
        try:
            data = json.loads(cell) if cell.strip() else {}
        except ValueError:
            raise MktsyncError(f"{where}: not a JSON object of token values") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise MktsyncError(f"{where}: not a JSON object of token values")
        tokens = {}
        for name, value in data.items():
            if name in self._fields:
                tokens[name] = value
                continue
            try:
                token = normalise_token_name(name)
            except ValueError:
                token = ""
            if token not in self._tokens:
                raise MktsyncError(
                    f"{where}: {one_line(repr(name))} is neither a My Token campaign"
                    f" '{self.campaign.name}' sends nor a lead field it writes"
                )
            tokens[token] = value
        return tokens

    def _sent_at(self, text: str, line: int, column: str) -> str | None:
        """The time a row was sent, as the ledger stores it; empty: the time of the import."""
        text = text.strip()
        if not text:
            return None

        def unusable(reason: str) -> MktsyncError:
            return MktsyncError(
                f"{self.name}:{line}: {column}: {one_line(repr(text))} is not a usable time:"
                f" {reason}"
            )

        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (ValueError, OverflowError) as exc:
            detail = str(exc)
            if "offset must be" in detail:
                detail = "its UTC offset is not between -24:00 and +24:00"
            elif detail.startswith("Invalid isoformat") or not detail:
                detail = "e.g. 2026-11-03T10:00:00Z"
            raise unusable(f"not an ISO 8601 date or time ({one_line(detail)})") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # an export without offset: taken as UTC
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+05:00 is in year 0 in UTC
            raise unusable("in UTC it falls outside the years 1 to 9999") from None
        if moment < EARLIEST:
            raise unusable(
                "earlier than 1970; leave the cell empty to record the time of the import"
            )
        if moment > self.now + CLOCK_SLACK:
            raise unusable("it is in the future (a time without an offset is taken as UTC)")
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    # -- the database ---------------------------------------------------------------------
    def _sql(self, sql: str, params: Any = (), *, many: bool = False) -> list[Any]:
        try:
            if many:
                self._conn.executemany(sql, params)
                return []
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if disk_full(exc):
                raise no_temp_space("ledger import keeps the file's rows there") from None
            raise

    def _report(self) -> None:
        if self._progress is not None:
            self._progress(self.rows)
