"""``Ledger``: the record of items triggered, over any ``Store`` (DESIGN.md, "ledger").

The writes live here, the reads in ``reader``; the SQL is written once for every
backend (see ``store``).  Worker threads may call every method at once.

A write this class does not make (``ledger.instance``, ``ledger.sent``) goes through
``Ledger.transaction(writing=...)``: the same read-only and run-lock checks as the
methods here, and ``LedgerTx.items_changed`` moves the fingerprint as they do.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence

from mktsync.errors import LedgerError
from mktsync.items import Item, token_hash
from mktsync.ledger.integrity import check_record, lead_checksum, record_checksum
from mktsync.ledger.reader import LedgerReader
from mktsync.ledger.records import (
    LedgerRecord,
    LockHolder,
    RepairAction,
    Status,
    utc_now,
    whoami,
)
from mktsync.ledger.rows import (
    RECORD_COLUMNS,
    encode_tokens,
)
from mktsync.ledger.store import Row, Tx

_UPSERT_PENDING = f"""
INSERT INTO items ({RECORD_COLUMNS})
VALUES (?, ?, ?, ?, ?, ?, 'pending', 1, NULL, NULL, NULL, ?, ?, ?, ?)
ON CONFLICT (campaign_id, key) DO UPDATE SET
    lead = excluded.lead,
    lead_id = COALESCE(excluded.lead_id, CASE WHEN items.lead = excluded.lead
                                              THEN items.lead_id END),
    tokens = excluded.tokens, token_hash = excluded.token_hash, status = 'pending',
    attempts = items.attempts + 1, request_id = NULL, error_code = NULL,
    error_message = NULL, run_id = excluded.run_id, updated_at = excluded.updated_at,
    checksum = excluded.checksum
"""
# Only records this run marked pending, and still pending, are put back.
_UNMARK_NEW = (
    "DELETE FROM items WHERE campaign_id = ? AND key = ? AND status = 'pending' AND run_id = ?"
)
_UNMARK = (
    "UPDATE items SET lead = ?, lead_id = ?, tokens = ?, token_hash = ?, status = ?, attempts = ?,"
    " request_id = ?, error_code = ?, error_message = ?, run_id = ?, created_at = ?,"
    " updated_at = ?, checksum = ?"
    " WHERE campaign_id = ? AND key = ? AND status = 'pending' AND run_id = ?"
)
_STATUS_SET = (
    "UPDATE items SET status = ?, request_id = ?, error_code = ?, error_message = ?,"
    " run_id = ?, updated_at = ?, checksum = ? WHERE campaign_id = ? AND key = ?"
)


class LedgerTx:
    """One transaction of ``Ledger.transaction``: the store's statements, and
    ``items_changed`` for a write that changes item records."""

    __slots__ = ("_name", "_tx", "_writing")

    def __init__(self, tx: Tx, *, name: str, writing: str | None) -> None:
        self._tx, self._name, self._writing = tx, name, writing

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one statement; return its rows (an empty list for statements without any)."""
        return self._tx.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        """Run one statement per parameter row; return the number of rows changed."""
        return self._tx.executemany(sql, rows)

    def stream(self, sql: str, params: Sequence[object] = ()) -> Iterator[Row]:
        """Run one query; yield its rows as they come."""
        return self._tx.stream(sql, params)

    def rowcount(self) -> int:
        """Rows changed by the last ``execute``."""
        return self._tx.rowcount()

    def items_changed(self) -> None:
        """Item records changed in this transaction: move the ledger's fingerprint with
        them, in the same transaction, so that a plan saved before is refused as stale.

        Every write to ``items`` calls it (once is enough); a write elsewhere (runs, the
        lead cache, the instance) does not: a saved plan stays valid across those.
        """
        if self._writing is None:
            raise LedgerError(f"{self._name}: items_changed in a read transaction")
        _bump(self._tx)


class Ledger(LedgerReader):
    """The ledger of one ``campaigns.yaml``; made by ``open_ledger``.

    >>> with open_ledger("sqlite:///.mktsync/ledger.db", base_dir) as ledger:
    ...     with ledger.lock(command="apply", timeout=30.0):
    ...         run_id = ledger.start_run(command="apply", config_digest=digest)
    ...         ledger.mark_pending(run_id, items, lead_ids={"ann@example.com/w1": 318592})
    ...         ledger.mark_sent(run_id, 1234, ["ann@example.com/w1"], request_id="e42b#1")
    ...         ledger.finish_run(run_id, counts={"sent": 1}, exit_status=0)
    """

    # -- transactions -----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(
        self, *, writing: str | None = None, locked: bool = False
    ) -> Iterator[LedgerTx]:
        """One transaction on the ledger's database: committed when the block ends, rolled
        back (nothing written) if it raises.

        >>> with ledger.transaction(writing="record_sent", locked=True) as tx:
        ...     tx.executemany(INSERT_SENT, rows)
        ...     tx.items_changed()

        ``writing`` names the write, for the error: it is refused before anything runs when
        the ledger was opened read-only, and, with ``locked``, when this ledger does not
        hold the run lock (as ``start_run`` and the ``mark_*`` methods are).  Without
        ``writing``, a read, as ``LedgerReader.transaction`` (``locked`` is then not
        checked).
        """
        if writing is not None:
            if locked:
                self._needs_lock(writing)
            else:
                self._writable(writing)
        with self._tx() as tx:
            yield LedgerTx(tx, name=self.name, writing=writing)

    # -- the run lock -----------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, *, command: str, timeout: float = 30.0) -> Iterator[int]:
        """Hold the exclusive run lock; yield how many ``pending`` records became ``unknown``.

        Records still ``pending`` when we get the lock were left by a run that died
        mid-call (it would hold the lock otherwise): their outcome is unknown.
        """
        self._writable("lock")
        if self._locked:
            raise LedgerError(f"{self.name}: this ledger already holds the run lock")
        with self._mutex:  # the PostgreSQL store takes its lock on the shared connection
            self._store.acquire_run_lock(LockHolder.current(command), timeout)
            self._locked = True
        try:
            self.verify()  # before anything is planned or sent from these records
            with self._tx() as tx:
                rows = tx.execute(
                    "SELECT campaign_id, key, lead, token_hash, checksum, run_id FROM items"
                    " WHERE status = 'pending'"
                )
                now = utc_now()
                updates = []
                for campaign_id, key, lead, thash, checksum, run_id in rows:
                    check_record(self.name, campaign_id, key, "pending", thash, lead, checksum)
                    note = f"run {'(none)' if run_id is None else run_id} ended while the call was in flight"
                    updates.append(
                        ("unknown", None, None, note, run_id, now,
                         record_checksum(campaign_id, key, "unknown", thash, lead), campaign_id, key)
                    )  # fmt: skip
                if updates:
                    tx.executemany(_STATUS_SET, updates)
                recovered = [(len(updates),)]
                # Not a generation bump: to a planner not holding the lock, `pending`
                # already means `unknown`, so a saved plan stays valid.
                tx.execute(
                    "UPDATE runs SET note = COALESCE(note || '; ', '') ||"
                    " 'ended without finishing' WHERE finished_at IS NULL"
                )
            yield int(recovered[0][0])
        finally:
            with self._mutex:
                self._locked = False
                self._store.release_run_lock()

    # -- runs -------------------------------------------------------------------------------
    def start_run(
        self,
        *,
        command: str,
        config_digest: str | None = None,
        git_commit: str | None = None,
        who: str | None = None,
        note: str | None = None,
    ) -> int:
        """Record a run starting; return its id. Needs the run lock.

        ``note`` is kept from the start (e.g. why a new ledger was started), so a run
        that dies still says it."""
        self._needs_lock("start_run")
        with self._tx() as tx:
            rows = tx.execute(
                "INSERT INTO runs (command, config_digest, git_commit, who, started_at, note)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING run_id",
                (command, config_digest, git_commit, who or whoami(), utc_now(), note),
            )
        return int(rows[0][0])

    def finish_run(
        self, run_id: int, *, counts: Mapping[str, int], exit_status: int, note: str | None = None
    ) -> None:
        self._needs_lock("finish_run")
        with self._tx() as tx:
            tx.execute(
                "UPDATE runs SET finished_at = ?, counts = ?, exit_status = ?,"
                " note = COALESCE(?, note) WHERE run_id = ?",
                (utc_now(), json.dumps(dict(counts), sort_keys=True), exit_status, note, run_id),
            )

    def mark_pending(
        self, run_id: int, items: Sequence[Item], lead_ids: Mapping[str, int] | None = None
    ) -> None:
        """Record ``items`` as about to be sent (new, or again: ``attempts`` += 1)."""
        self._needs_lock("mark_pending")
        lead_ids = lead_ids or {}
        now = utc_now()
        rows = []
        for item in items:
            lead_id = item.lead_id if item.lead_id is not None else lead_ids.get(item.key)
            tokens = item.recorded  # its tokens, and the lead fields written for it
            thash = token_hash(tokens)
            rows.append(
                (item.campaign_id, item.key, item.lead, lead_id, encode_tokens(tokens),
                 thash, run_id, now, now,
                 record_checksum(item.campaign_id, item.key, "pending", thash, item.lead))
            )  # fmt: skip
        if rows:
            with self._tx() as tx:
                tx.executemany(_UPSERT_PENDING, rows)
                _bump(tx)

    def mark_sent(
        self, run_id: int, campaign_id: int, keys: Sequence[str], *, request_id: str | None
    ) -> int:
        """Marketo accepted the call: the items are sent. Returns the records changed."""
        return self._set_status(run_id, campaign_id, keys, "sent", request_id, None, None)

    def mark_failed(
        self, run_id: int, campaign_id: int, keys: Sequence[str], *, code: str | None, message: str
    ) -> int:
        """Marketo refused the call for good (e.g. 1003): the items failed."""
        return self._set_status(run_id, campaign_id, keys, "failed", None, code, message)

    def mark_unknown(
        self, run_id: int, campaign_id: int, keys: Sequence[str], *, reason: str
    ) -> int:
        """The call may or may not have reached Marketo (e.g. a timeout after sending)."""
        return self._set_status(run_id, campaign_id, keys, "unknown", None, None, reason)

    def unmark_pending(
        self, run_id: int, campaign_id: int, before: Mapping[str, LedgerRecord | None]
    ) -> None:
        """Marketo did nothing with the call (606, or it never left): put its items back.

        ``before`` maps each key to its record as ``mark_pending`` found it (None: there
        was none, and the record goes).  Only records ``run_id`` left ``pending`` change.
        """
        self._needs_lock("unmark_pending")
        gone = [(campaign_id, key, run_id) for key, rec in before.items() if rec is None]
        back = [
            (rec.lead, rec.lead_id, encode_tokens(rec.tokens), rec.token_hash, rec.status,
             rec.attempts, rec.request_id, rec.error_code, rec.error_message, rec.run_id,
             rec.created_at, rec.updated_at,
             record_checksum(campaign_id, key, rec.status, rec.token_hash, rec.lead),
             campaign_id, key, run_id)
            for key, rec in before.items()
            if rec is not None
        ]  # fmt: skip
        if gone or back:
            with self._tx() as tx:
                if gone:
                    tx.executemany(_UNMARK_NEW, gone)
                if back:
                    tx.executemany(_UNMARK, back)
                _bump(tx)

    def mark_settled(
        self, run_id: int, campaign_id: int, keys: Sequence[str], *, sent: bool, reason: str
    ) -> int:
        """Settle ``unknown`` records with evidence: ``sent``, or ``failed`` (sent again next run).

        ``reason`` (the evidence) is kept in the record's message.
        """
        if sent:
            return self._set_status(run_id, campaign_id, keys, "sent", None, None, reason)
        return self._set_status(run_id, campaign_id, keys, "failed", None, "settled", reason)

    def repair(
        self,
        campaign_id: int,
        keys: Sequence[str],
        *,
        action: RepairAction,
        who: str,
        why: str,
        timeout: float = 30.0,
    ) -> int:
        """Mark records sent, or forget them, by hand; recorded in ``runs`` with who and why.

        Takes the run lock unless this ledger holds it. Returns the records changed.
        """
        if action not in ("mark-sent", "forget"):
            raise LedgerError(f"unknown repair action {action!r}: use mark-sent or forget")
        if not self._locked:
            with self.lock(command=f"repair {action}", timeout=timeout):
                return self.repair(campaign_id, keys, action=action, who=who, why=why)
        now = utc_now()
        changed = 0
        with self._tx() as tx:
            run_id = tx.execute(
                "INSERT INTO runs (command, who, started_at, note) VALUES (?, ?, ?, ?)"
                " RETURNING run_id",
                (f"repair {action}", who, now, why),
            )[0][0]
            if action == "forget":
                for sql, chunk in self._chunked(
                    "DELETE FROM items WHERE campaign_id = ? AND key IN ({marks})", keys
                ):
                    tx.execute(sql, (campaign_id, *chunk))
                    changed += tx.rowcount()
            else:
                rows = [
                    ("sent", None, None, None, run_id, now,
                     record_checksum(campaign_id, key, "sent", thash, lead), campaign_id, key)
                    for key, lead, thash in self._checked(tx, campaign_id, keys)
                ]  # fmt: skip
                if rows:
                    tx.executemany(_STATUS_SET, rows)
                changed = len(rows)
            if changed:
                _bump(tx)
            tx.execute(
                "UPDATE runs SET finished_at = ?, counts = ?, exit_status = 0 WHERE run_id = ?",
                (utc_now(), json.dumps({"records": changed}), run_id),
            )
        return changed

    def cache_lead_ids(self, mapping: Mapping[str, int]) -> None:
        """Remember resolved lead ids. Not an item change: the fingerprint stays."""
        self._writable("cache_lead_ids")
        now = utc_now()
        rows = [
            (email.lower(), lead_id, now, lead_checksum(email.lower(), lead_id))
            for email, lead_id in mapping.items()
        ]
        if rows:
            with self._tx() as tx:
                tx.executemany(
                    "INSERT INTO lead_cache (email, lead_id, updated_at, checksum)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (email) DO UPDATE SET"
                    " lead_id = excluded.lead_id, updated_at = excluded.updated_at,"
                    " checksum = excluded.checksum",
                    rows,
                )

    def cache_lead_misses(self, found: Iterable[str], missed: Iterable[str]) -> None:
        """Remember which looked-up emails Marketo did not know (for the next plan's forecast),
        and forget those it knows now.  Not an item change: the fingerprint stays."""
        self._writable("cache_lead_misses")
        now = utc_now()
        gone = [(e.lower(),) for e in found]
        rows = [(e.lower(), now) for e in missed]
        if gone or rows:
            with self._tx() as tx:
                if gone:
                    tx.executemany("DELETE FROM lead_misses WHERE email = ?", gone)
                if rows:
                    tx.executemany(
                        "INSERT INTO lead_misses (email, missed_at) VALUES (?, ?)"
                        " ON CONFLICT (email) DO UPDATE SET missed_at = excluded.missed_at",
                        rows,
                    )

    def _needs_lock(self, what: str) -> None:
        self._writable(what)
        if not self._locked:
            raise LedgerError(f"{what} needs the run lock: call it inside `with ledger.lock(...)`")

    def _set_status(
        self,
        run_id: int,
        campaign_id: int,
        keys: Sequence[str],
        status: Status,
        request_id: str | None,
        code: str | None,
        message: str | None,
    ) -> int:
        self._needs_lock(f"mark_{status}")
        now = utc_now()
        with self._tx() as tx:
            rows = [
                (status, request_id, code, message, run_id, now,
                 record_checksum(campaign_id, key, status, thash, lead), campaign_id, key)
                for key, lead, thash in self._checked(tx, campaign_id, keys)
            ]  # fmt: skip
            if rows:
                tx.executemany(_STATUS_SET, rows)
                _bump(tx)
        return len(rows)

    def _checked(self, tx: Tx, campaign_id: int, keys: Sequence[str]) -> list[tuple[str, str, str]]:
        """``(key, lead, token_hash)`` of the records of ``keys``, each checked first."""
        found = []
        for sql, chunk in self._chunked(
            "SELECT key, lead, token_hash, status, checksum FROM items"
            " WHERE campaign_id = ? AND key IN ({marks})",
            keys,
        ):
            for key, lead, thash, status, checksum in tx.execute(sql, (campaign_id, *chunk)):
                check_record(self.name, campaign_id, key, status, thash, lead, checksum)
                found.append((key, lead, thash))
        return found


def _bump(tx: Tx) -> None:
    tx.execute("UPDATE ledger_meta SET generation = generation + 1 WHERE id = 1")
