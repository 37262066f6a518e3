"""``mktsync ledger status|show|export``: reads that never create or change a ledger."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from ledgercmd_testing import URL, Run, cli_knows_ledger, seed

from mktsync.ledger import open_ledger
from mktsync.ledger.tools import EXPORT_COLUMNS, export, ledger_status, ledger_target


def test_cli_registers_ledger() -> None:
    """Fails until cli.py calls ``ledgercmd.add_parser`` (the other tests add it themselves)."""
    assert cli_knows_ledger()


def test_status_counts_records_per_campaign_and_status(project: Path, run: Run) -> None:
    seed(project, sent=["a@x.com/w1", "b@x.com/w1"], failed=["c@x.com/w1"], unknown=["d@x.com/w1"])
    seed(project, sent=["a@x.com/w9"], campaign_id=77)
    code, out, err = run("status", "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["ledger"].endswith("ledger.db")
    assert data["campaigns"] == [
        {"campaign_id": 77, "pending": 0, "sent": 1, "failed": 0, "unknown": 0, "total": 1},
        {"campaign_id": 1234, "pending": 0, "sent": 2, "failed": 1, "unknown": 1, "total": 4},
    ]
    assert [(r["command"], r["who"], r["exit_status"]) for r in data["runs"]] == [
        ("apply", "ci@runner-1", 0),
        ("apply", "ci@runner-1", 3),
    ]
    assert data["runs"][1]["counts"] == {"sent": 2, "failed": 1, "unknown": 1}

    code, out, _ = run("status")
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == ["campaign", "pending", "sent", "failed", "unknown", "total"]
    assert lines[3].split() == ["1234", "0", "2", "1", "1", "4"]
    assert "#2 apply  by ci@runner-1" in out and "exit 3  failed=1 sent=2 unknown=1" in out


def test_status_runs_limits_the_runs_listed(project: Path) -> None:
    for n in range(4):
        seed(project, sent=[f"{n}@x.com/w1"])
    status = ledger_status(ledger_target(project / "campaigns.yaml"), runs=2)
    assert [r.run_id for r in status.runs] == [4, 3]
    assert status.campaigns[0].total == 4


def test_a_missing_ledger_reads_as_empty_and_nothing_is_created(project: Path, run: Run) -> None:
    assert run("status") == (0, "ledger: sqlite:///state/ledger.db (absent; empty view)\n"
                                "no records\n\nno runs\n", "")  # fmt: skip
    code, out, _ = run("status", "--format", "json")
    assert json.loads(out)["campaigns"] == [] and json.loads(out)["runs"] == []
    assert run("export")[1] == ",".join(EXPORT_COLUMNS) + "\n"
    assert run("show", "a@x.com/w1")[0] == 1
    assert sorted(p.name for p in project.iterdir()) == ["campaigns.yaml"]


def test_the_ledger_is_found_beside_the_config_from_any_folder(
    project: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(project, sent=["a@x.com/w1"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, _ = run("status", "--format", "json")
    assert json.loads(out)["campaigns"][0]["sent"] == 1
    # --ledger needs no config file: relative to where --config would be (the cwd by default)
    monkeypatch.chdir(project)
    code, out, _ = run("status", "--ledger", URL, "--format", "json", config=False)
    assert (code, json.loads(out)["campaigns"][0]["sent"]) == (0, 1)
    # ...and is accepted before the action too
    code, out, _ = run("--ledger", "sqlite:///other.db", "status", config=False)
    assert code == 0 and "other.db (absent; empty view)" in out


def test_a_missing_config_is_a_config_error(project: Path, run: Run) -> None:
    (project / "campaigns.yaml").unlink()
    code, out, err = run("status")
    assert code == 1 and err.startswith("error: ") and "file not found" in err


def test_show_prints_every_record_of_a_key(project: Path, run: Run) -> None:
    seed(project, unknown=["a@x.com/w1"], sent=["b@x.com/w1"])
    seed(project, failed=["a@x.com/w1"], campaign_id=77)
    code, out, err = run("show", "a@x.com/w1")
    assert (code, err) == (0, "")
    assert out.count("key a@x.com/w1") == 2
    assert out.index("campaign 77 ") < out.index("campaign 1234 ")
    assert "  status     unknown\n" in out and "  error      read timeout\n" in out
    assert "  status     failed\n" in out and "  error      1003 not active\n" in out
    assert "  tokens     {{my.Link}} = https://example.com/j/1\n" in out
    assert "             {{my.Title}} = Webinar 1\n" in out
    assert "  lead       a@x.com\n" in out and "  attempts   1\n" in out

    code, out, _ = run("show", "a@x.com/w1", "--campaign-id", "1234", "--format", "json")
    (rec,) = json.loads(out)
    assert (rec["campaign_id"], rec["status"], rec["run_id"], rec["attempts"]) == (
        1234,
        "unknown",
        1,
        1,
    )
    assert rec["tokens"] == {"{{my.Link}}": "https://example.com/j/1", "{{my.Title}}": "Webinar 1"}
    assert rec["created_at"].endswith("Z") and rec["request_id"] is None

    code, out, _ = run("show", "b@x.com/w1", "--format", "json")
    assert json.loads(out)[0]["request_id"] == "e42b#1"


def test_show_of_an_absent_key_exits_1_naming_it(project: Path, run: Run) -> None:
    seed(project, sent=["a@x.com/w1"])
    assert run("show", "nobody@x.com/w1") == (
        1, "", "error: no record with key 'nobody@x.com/w1' in any campaign\n"
    )  # fmt: skip
    code, _, err = run("show", "a@x.com/w1", "--campaign-id", "77")
    assert (code, err) == (1, "error: no record with key 'a@x.com/w1' in campaign 77\n")


def _records(project: Path) -> list[dict[str, object]]:
    with open_ledger(URL, project, create=False) as ledger:
        return [
            {**{c: getattr(r, c) for c in EXPORT_COLUMNS}, "tokens": dict(r.tokens)}
            for r in ledger.iter_records()
        ]


def test_export_csv_round_trips(project: Path, run: Run) -> None:
    seed(project, sent=["a@x.com/w1", 'q"uote,comma\nnewline@x.com/w1'], failed=["c@x.com/w1"])
    seed(project, unknown=["é@x.com/w2"], campaign_id=77)
    code, out, err = run("export")
    assert (code, err) == (0, "")
    reader = csv.DictReader(io.StringIO(out, newline=""))
    assert tuple(reader.fieldnames or ()) == EXPORT_COLUMNS
    parsed = []
    for row in reader:
        back: dict[str, object] = {k: (v if v != "" else None) for k, v in row.items()}
        for column in ("campaign_id", "attempts", "run_id"):
            back[column] = int(row[column])
        back["lead_id"] = None if row["lead_id"] == "" else int(row["lead_id"])
        back["tokens"] = json.loads(row["tokens"])
        parsed.append(back)
    assert parsed == _records(project)
    assert [r["campaign_id"] for r in parsed] == [77, 1234, 1234, 1234]


def test_export_jsonl_round_trips_and_filters_by_campaign(project: Path, run: Run) -> None:
    seed(project, sent=["a@x.com/w1"], unknown=["b@x.com/w1"])
    seed(project, sent=["a@x.com/w9"], campaign_id=77)
    code, out, _ = run("export", "--format", "jsonl")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == _records(project)
    code, out, _ = run("export", "--format", "jsonl", "--campaign-id", "77")
    assert [json.loads(line)["key"] for line in out.splitlines()] == ["a@x.com/w9"]


def test_export_to_a_file_pages_through_many_records(project: Path, run: Run) -> None:
    keys = [f"{n:05}@x.com/w1" for n in range(2500)]  # more than the reader's page of 1000
    seed(project, sent=keys)
    target = project / "out.jsonl"
    code, out, err = run("export", "--format", "jsonl", "--out", str(target))
    assert (code, out, err) == (0, "", f"exported 2500 record(s) to {target}\n")
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["key"] for line in lines] == keys
    assert sorted(p.name for p in project.iterdir()) == ["campaigns.yaml", "out.jsonl", "state"]


def test_export_streams_record_by_record(project: Path) -> None:
    """Written as read: a stream that refuses the 2nd line stops after one record was written."""
    seed(project, sent=["a@x.com/w1", "b@x.com/w1", "c@x.com/w1"])

    class Full(io.StringIO):
        def write(self, text: str) -> int:
            if self.getvalue():
                raise OSError("disk full")
            return super().write(text)

    stream = Full()
    with pytest.raises(OSError, match="disk full"):
        export(ledger_target(project / "campaigns.yaml"), stream, fmt="jsonl")
    assert json.loads(stream.getvalue())["key"] == "a@x.com/w1"
