"""The instance check that runs before every apply, settle and baseline: a ledger belongs to
one Marketo instance.

>>> with open_ledger(url, base_dir) as ledger, bound(ledger, base_url, "sandbox"):  # doctest: +SKIP
...     apply_config(config, ledger, client)

The ledger records the host of the base URL (``marketo.client.instance_host``) on first
use and refuses every later run for another host (``ledger.instance.bind_instance``), so a
sandbox ledger can never mark production sends as done, and ``ledger settle`` never reads
another instance's activity log.  Only the host is kept, never a credential.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mktsync.ledger import Ledger, bind_instance
from mktsync.marketo.client import instance_host


@contextmanager
def bound(ledger: Ledger, base_url: str | None, environment: str | None) -> Iterator[None]:
    """Refuse the run if ``ledger`` belongs to another instance; bind it on first use.

    ``base_url`` None: no instance is known yet (``--emulator``, or ``--record-only``
    before the base URL's variable is set), and the ledger is bound by a later run.
    """
    if base_url is not None:
        bind_instance(ledger, instance_host(base_url), environment=environment)
    yield
