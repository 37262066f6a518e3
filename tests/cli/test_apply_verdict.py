"""The command line colours the last line by the report's verdict, never by its words."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from mktsync.apply import ApplyReport, CampaignReport
from mktsync.apply.verdict import Verdict
from mktsync.cli import main
from mktsync.cli.apply import _report
from mktsync.cli.options import Output
from mktsync.cli.request import ApplyRequest
from mktsync.config.model import Limits
from mktsync.plan import Plan

GREEN, YELLOW = "\x1b[32m", "\x1b[33;1m"
CONFIG = """version: 1
sources:
  regs: {type: inline, rows: [ROWS]}
campaigns:
  reminder:
    campaign_id: 1234
    source: regs
    lead: {email: "{{ row.email }}"}
    max_invalid: 1
"""
PLAN = Plan(
    config_path="campaigns.yaml",
    config_digest="d",
    ledger_fingerprint="f",
    limits=Limits(),
    max_calls=None,
    retry_unknown=False,
    campaigns=(),
)


@dataclasses.dataclass(kw_only=True)
class Judged(ApplyReport):
    """A report whose verdict says ``ok`` against its own words: only a reader of the
    verdict colours it as the verdict says."""

    ok: bool

    @property
    def verdict(self) -> Verdict:
        return dataclasses.replace(super().verdict, ok=self.ok)


def last_line(report: ApplyReport) -> str:
    out = io.StringIO()
    request = ApplyRequest(target=Path("campaigns.yaml"), output=Output(color="always"))
    _report(report, request, out)
    return out.getvalue().rstrip("\n").split("\n")[-1]


@pytest.mark.parametrize(
    ("invalid", "ok", "words", "colour"),
    [
        (0, False, "Everything planned was sent: 5 leads sent in 1 call.", YELLOW),
        (1, True, "Not everything was sent: 5 leads sent in 1 call, 1 invalid row;", GREEN),
    ],
)
def test_the_colour_follows_the_verdict_not_the_words(
    invalid: int, ok: bool, words: str, colour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    sent = CampaignReport(name="a", campaign_id=1, calls_sent=1, leads_triggered=5, invalid=invalid)
    report = Judged(run_id=1, plan=PLAN, campaigns=[sent], ok=ok)
    assert report.verdict.ok is ok
    line = last_line(report)
    assert line.startswith(colour + words), line
    assert line.endswith("\x1b[0m")


def test_an_apply_that_exits_0_with_an_invalid_row_is_not_green(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    good = ", ".join(f"{{email: u{i}@example.com}}" for i in range(3))
    config = tmp_path / "campaigns.yaml"
    config.write_text(CONFIG.replace("ROWS", good), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["apply", "--emulator", "--color", "always"], stdout=out, stderr=err) == 0
    assert out.getvalue().rstrip("\n").split("\n")[-1] == (
        f"{GREEN}Everything planned was sent: 3 leads sent in 1 call.\x1b[0m"
    )
    # A row the template cannot render: the run still exits 0, but all is not well.
    config.write_text(CONFIG.replace("ROWS", good + ", {email: ''}"), encoding="utf-8")
    out = io.StringIO()
    assert main(["apply", "--emulator", "--color", "always"], stdout=out, stderr=err) == 0
    line = out.getvalue().rstrip("\n").split("\n")[-1]
    assert line.startswith(
        f"{YELLOW}Not everything was sent: 0 leads sent in 0 calls, 1 invalid"
    ), line
