"""Which Marketo instance a ledger belongs to.

>>> bind_instance(ledger, "123-ABC-456.mktorest.com")     # doctest: +SKIP
>>> instance_of(ledger)                                    # doctest: +SKIP
'123-abc-456.mktorest.com'

A ledger belongs to one Marketo instance (DESIGN.md, "environment"): the host of the
base URL is recorded at the first apply and every later apply must name the same one,
so a sandbox ledger can never mark production sends as done.  Only the host is kept --
never a credential, never a path or query.  Binding is not an item change: the
fingerprint stays, and a plan saved before stays valid.
"""

from __future__ import annotations

from mktsync.errors import LedgerError
from mktsync.ledger.core import Ledger
from mktsync.ledger.reader import LedgerReader

_READ = "SELECT instance FROM ledger_meta WHERE id = 1"


class WrongInstance(LedgerError):
    """The ledger was made for another Marketo instance; nothing was read or written."""


def instance_of(ledger: LedgerReader) -> str | None:
    """The Marketo host the ledger belongs to, or None before its first apply."""
    with ledger.transaction() as tx:
        rows = tx.execute(_READ)
    return str(rows[0][0]) if rows and rows[0][0] else None


def bind_instance(ledger: Ledger, host: str, *, environment: str | None = None) -> None:
    """Record ``host`` as the ledger's instance on first use; refuse a ledger of another one.

    A ledger already bound is only read (a read-only one too); the first binding is read
    again in the write's own transaction, so two first runs at once bind it once.
    """
    host = host.lower()
    current = instance_of(ledger)
    if current is None:
        with ledger.transaction(writing="bind_instance") as tx:
            rows = tx.execute(_READ)
            current = str(rows[0][0]) if rows and rows[0][0] else None
            if current is None:
                tx.execute("UPDATE ledger_meta SET instance = ? WHERE id = 1", (host,))
                return
    if current.lower() != host:
        env = f" (environment '{environment}')" if environment else ""
        raise WrongInstance(
            f"{ledger.name}: this ledger belongs to Marketo instance {current.lower()}, but "
            f"this run is for {host}{env}; refusing to use it (each environment needs its own "
            "ledger: check 'ledger:' and --env)"
        )
