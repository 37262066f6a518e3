"""The ledger against damage and path tricks, end to end against the emulator: a flipped
byte is an error or harmless, never a resend; two paths to one ledger share one lock."""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path

from apply_helpers import apply, emulator, fast_retry, rows, triggered, write_project

from mktsync.apply import ApplyOptions, ApplyReport, apply_config
from mktsync.config import load_config
from mktsync.emulator import Emulator, EmulatorOptions
from mktsync.errors import LedgerError
from mktsync.ledger import open_ledger
from mktsync.marketo import MarketoClient

CORRUPTIONS = 20


def _apply_via(path: Path, emu: Emulator, url: str) -> ApplyReport:
    config = load_config(path)
    with (
        open_ledger(url, config.base_dir) as ledger,
        MarketoClient(
            emu.base_url, emu.client_id, emu.client_secret,
            limits=config.marketo.limits, retry=fast_retry(),
        ) as client,
    ):  # fmt: skip
        return apply_config(config, ledger, client, ApplyOptions(lock_timeout=60))


def test_two_applies_through_a_symlinked_ledger_path_send_each_lead_once(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(20, shared_code=False), concurrency=2)
    (tmp_path / "state").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "alias.db").symlink_to(tmp_path / "state" / "ledger.db")
    urls = ["sqlite:///state/ledger.db", "sqlite:///elsewhere/../alias.db"]
    reports: list[ApplyReport] = []
    with emulator(path, EmulatorOptions(latency=(0.01, 0.02))) as emu:
        threads = [
            threading.Thread(target=lambda u=url: reports.append(_apply_via(path, emu, u)))
            for url in urls
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        counts = triggered(emu)
    assert sorted(r.exit_code for r in reports) == [0, 0]
    assert sorted(r.counts()["leads_triggered"] for r in reports) == [0, 20]
    assert len(counts) == 20 and set(counts.values()) == {1}


def test_single_byte_corruptions_are_errors_or_harmless_never_resends(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(40, shared_code=False))
    db = tmp_path / ".mktsync" / "ledger.db"
    rng = random.Random(6)  # on main (before checksums) 3 of these 20 resent
    outcomes: Counter[str] = Counter()
    with emulator(path) as emu:
        assert apply(path, emu).exit_code == 0
        assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
        pristine = db.read_bytes()
        # Where the ledger's content is: most of a small file is free space, where a flip
        # proves nothing.
        used = [i for i, byte in enumerate(pristine) if byte]
        for _ in range(CORRUPTIONS):
            data = bytearray(pristine)
            offset = rng.choice(used)
            data[offset] ^= rng.randrange(1, 256)
            db.write_bytes(bytes(data))
            for leftover in (Path(f"{db}-wal"), Path(f"{db}-shm")):
                leftover.unlink(missing_ok=True)
            before = sum(triggered(emu).values())
            try:
                report = apply(path, emu)
            except LedgerError as exc:
                assert str(exc).isascii() and str(exc).isprintable()  # bytes escaped, never raw
                outcomes["error"] += 1
                continue
            resent = sum(triggered(emu).values()) - before
            if resent:
                outcomes[f"resent {resent} at byte {offset}"] += 1
            elif report.exit_code == 0:
                outcomes["no effect"] += 1
            else:
                outcomes[f"exit {report.exit_code}"] += 1
    print(f"\n{CORRUPTIONS} single-byte corruptions: {dict(outcomes)}")
    assert set(outcomes) <= {"error", "no effect"}, outcomes
    assert sum(outcomes.values()) == CORRUPTIONS
