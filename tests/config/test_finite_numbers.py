"""YAML's ``.nan``, ``.inf`` and ``-.inf`` are floats, and a NaN compares false with
every bound: ``minimum: 0`` let ``window_seconds: .nan`` through, and the shared limiter
then waited forever for every job on the instance.  Every number of the schema is
finite, wherever it is read; ``validate`` says where one is not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """\
version: 1
marketo:
  base_url: ${{MARKETO_BASE_URL}}
  client_id: ${{MARKETO_CLIENT_ID}}
  client_secret: ${{MARKETO_CLIENT_SECRET}}
  limits:
    calls: 100
    window_seconds: {window_seconds}
    safety_margin: {safety_margin}
    quota_reserve: {quota_reserve}
sources:
  regs: {{type: csv, path: regs.csv}}
campaigns:
  reminder:
    campaign_id: 1234
    source: regs
    lead: {{email: "{{{{ row.email }}}}"}}
environments:
  sandbox:
    ledger: sqlite:///.mktsync/sandbox.db
    marketo:
      limits: {{window_seconds: {env_window}}}
"""
FINE = {"window_seconds": "20", "safety_margin": "0", "quota_reserve": "0.1", "env_window": "20"}
LINES = {"window_seconds": 8, "safety_margin": 9, "quota_reserve": 10, "env_window": 22}
FIELDS = {
    "window_seconds": "marketo.limits.window_seconds",
    "safety_margin": "marketo.limits.safety_margin",
    "quota_reserve": "marketo.limits.quota_reserve",
    "env_window": "environments.sandbox.marketo.limits.window_seconds",
}


def validate(folder: Path, **values: str) -> subprocess.CompletedProcess[str]:
    (folder / "campaigns.yaml").write_text(CONFIG.format(**{**FINE, **values}), encoding="utf-8")
    (folder / "regs.csv").write_text("email\nann@example.com\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mktsync", "validate"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.inf", "!!float .inf", "1.0e+999"])
@pytest.mark.parametrize("key", list(FIELDS))
def test_a_number_that_is_not_finite_is_a_located_error(
    tmp_path: Path, key: str, value: str
) -> None:
    proc = validate(tmp_path, **{key: value})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    shown = {".NaN": ".nan", "1.0e+999": ".inf", "!!float .inf": ".inf"}.get(value, value)
    out = proc.stdout + proc.stderr
    [line] = [x for x in out.splitlines() if "finite" in x]
    assert line.startswith(f"campaigns.yaml:{LINES[key]}:"), out
    assert line.endswith(f"{FIELDS[key]}: expected a finite number, got {shown}"), out
    assert "internal error" not in out


def test_finite_numbers_still_pass(tmp_path: Path) -> None:
    proc = validate(tmp_path, window_seconds="20.0", safety_margin="0.5", quota_reserve="0")
    assert proc.returncode == 0, proc.stdout + proc.stderr


SHARED = """\
version: 1
marketo:
  base_url: ${{MARKETO_BASE_URL}}
  client_id: ${{MARKETO_CLIENT_ID}}
  client_secret: ${{MARKETO_CLIENT_SECRET}}
  limits: {{window_seconds: {window}, shared: "${{MKTSYNC_LIMITS_URL}}"}}
sources:
  regs: {{type: csv, path: regs.csv}}
campaigns:
  reminder:
    campaign_id: 1234
    source: regs
    lead: {{email: "{{{{ row.email }}}}"}}
"""


@pytest.mark.parametrize(("window", "warned"), [("40", True), ("20", False)])
def test_a_shared_window_other_than_marketo_s_is_a_warning(
    tmp_path: Path, window: str, warned: bool
) -> None:
    """Each call holds its slot of the instance for its own config's window: one team's
    40 s window slows every other team sharing the instance (docs/ci.md)."""
    (tmp_path / "campaigns.yaml").write_text(SHARED.format(window=window), encoding="utf-8")
    (tmp_path / "regs.csv").write_text("email\nann@example.com\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mktsync", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert (
        "campaigns.yaml:6:" in out
        and "marketo.limits.window_seconds: warning: window_seconds: 40 with limits.shared" in out
    ) is warned, out
