"""``mktsync`` as a user runs it: a real process, with only the variables a test gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mktsync.emulator import Emulator


def mktsync(cwd: Path, *argv: str, **env: str) -> tuple[int, str, str]:
    """``python -m mktsync ARGV`` in ``cwd``, with only the variables given (and PATH):
    none of the runner's ``MARKETO_*``, ``MKTSYNC_*``, ``GITHUB_*`` or ``CI`` leak in."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MARKETO_", "MKTSYNC_", "GITHUB_")) and k != "CI"
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def credentials(emu: Emulator, prefix: str = "MARKETO") -> dict[str, str]:
    """The three variables that point mktsync at ``emu``, named ``PREFIX_*``."""
    return {
        f"{prefix}_BASE_URL": emu.base_url,
        f"{prefix}_CLIENT_ID": emu.client_id,
        f"{prefix}_CLIENT_SECRET": emu.client_secret,
    }
