"""The ledger: which items were triggered, with what, and how it went (DESIGN.md).

>>> from mktsync.ledger import open_ledger
>>> with open_ledger("sqlite:///.mktsync/ledger.db", base_dir) as ledger:
...     records = ledger.lookup(1234, ["ann@example.com/w1"])

- ``opening``: ``open_ledger`` reads the URL and picks the store;
- ``reader`` and ``core``: ``LedgerReader`` (what ``plan`` asks) and ``Ledger`` (the
  writes, the run lock, ``transaction``: the one way in for SQL of another module);
- ``records``: the records a ledger returns; ``rows``, ``integrity``: how they are stored
  and checked;
- ``store``, ``sqlite``, ``sqlite_open``, ``postgres``, ``schema``: the backends and their
  migrations;
- ``instance``: the Marketo instance a ledger belongs to; ``sent``: sends recorded
  without a call (a baseline); ``importfile``: the CSV such a baseline is read from;
- ``history``, ``elsewhere``, ``git``: whether a new ledger hides sends recorded in
  another; ``csvcells``: CSV cells safe from spreadsheets;
- ``tools`` (its own face): the library of ``mktsync ledger`` -- status, show, export,
  repair -- on a ``LedgerTarget``; imported when used, not by this face.
"""

from __future__ import annotations

from mktsync.ledger.core import Ledger, LedgerTx
from mktsync.ledger.instance import WrongInstance, bind_instance, instance_of
from mktsync.ledger.opening import open_ledger
from mktsync.ledger.reader import LedgerReader
from mktsync.ledger.records import STATUSES, LedgerRecord, RepairAction, RunRecord, Status
from mktsync.ledger.sent import SentRecord, record_sent

__all__ = [
    "STATUSES",
    "Ledger",
    "LedgerReader",
    "LedgerRecord",
    "LedgerTx",
    "RepairAction",
    "RunRecord",
    "SentRecord",
    "Status",
    "WrongInstance",
    "bind_instance",
    "instance_of",
    "open_ledger",
    "record_sent",
]
