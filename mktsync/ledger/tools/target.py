"""Which ledger a tool opens (``LedgerTarget``), how it opens it, and "not found".

A target is a URL and the folder its relative paths start from: the config's ``ledger:``
(``ledger_target``), or a URL given as it is, so a broken config never blocks a repair.

Every message about the ledger names it as plan and apply do (``config.security.as_written``):
the config's ``ledger:`` as written, ``${MKTSYNC_LEDGER_URL}`` and never its value, a
password as ``***``.  So the tools open it only through ``opening`` and ``reading``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mktsync.errors import MktsyncError, one_line
from mktsync.ledger.core import Ledger
from mktsync.ledger.opening import open_ledger

if TYPE_CHECKING:
    from mktsync.config.model import Config

_LISTED = 20  # missing keys named in an error before "... and N more"


class KeysNotFound(MktsyncError):
    """Keys asked for are not in the ledger; for a repair, nothing was changed."""

    def __init__(self, campaign_id: int | None, keys: Sequence[str], *, repair: bool) -> None:
        self.campaign_id = campaign_id
        self.keys = tuple(keys)
        where = "any campaign" if campaign_id is None else f"campaign {campaign_id}"
        if not repair:
            self._lines = [f"no record with key {one_line(repr(keys[0]))} in {where}"]
        else:
            self._lines = [
                f"{len(keys)} key(s) not in the ledger for {where}; nothing was changed",
                *(f"  not found: {one_line(repr(k))}" for k in keys[:_LISTED]),
            ]
            if len(keys) > _LISTED:
                self._lines.append(f"  ... and {len(keys) - _LISTED} more")
        super().__init__("\n".join(self._lines))

    def lines(self) -> list[str]:
        return [f"error: {line}" for line in self._lines]


@dataclass(frozen=True, kw_only=True)
class LedgerTarget:
    """Which ledger to open: a URL, relative paths taken from ``base_dir`` (the config's folder).

    ``written``: the config's ``ledger:`` as written (None: ``url`` was given as it is).
    """

    url: str
    base_dir: Path
    written: str | None = None

    @property
    def shown(self) -> str:
        """The ledger as messages name it: as written, the password as ``***``."""
        from mktsync.config.dburl import redact

        return redact(self.url if self.written is None else self.written)


def config_target(config: Config, ledger_url: str | None = None) -> LedgerTarget:
    """The loaded config's ledger (or ``ledger_url``, as given)."""
    if ledger_url:
        return LedgerTarget(url=ledger_url, base_dir=config.base_dir)
    return LedgerTarget(
        url=config.ledger.resolve(), base_dir=config.base_dir, written=config.ledger.raw
    )


def ledger_target(
    config_path: Path, ledger_url: str | None = None, environment: str | None = None
) -> LedgerTarget:
    """The config's ``ledger:`` (or ``ledger_url``), relative to the config file's folder.

    With ``ledger_url`` the config is not read, so a broken config never blocks a repair.
    """
    if ledger_url:
        return LedgerTarget(url=ledger_url, base_dir=config_path.absolute().parent)
    from mktsync.config import load_config

    return config_target(load_config(config_path, environment=environment))


@contextmanager
def opening(target: LedgerTarget, *, create: bool = True) -> Iterator[Ledger]:
    """The target's ledger, open; every error inside names it as written (never the
    value of its ``${VAR}``, never a password, whatever a driver's text quoted)."""
    from mktsync.config.model import EnvString
    from mktsync.config.security import as_written

    written = EnvString(raw=target.url if target.written is None else target.written)
    with (
        as_written(written, target.url),
        open_ledger(target.url, target.base_dir, create=create) as ledger,
    ):
        yield ledger


@contextmanager
def reading(target: LedgerTarget) -> Iterator[Ledger]:
    """The target's ledger opened to read (``create=False``): nothing is created."""
    with opening(target, create=False) as ledger:
        yield ledger
