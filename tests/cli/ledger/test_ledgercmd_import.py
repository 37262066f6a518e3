"""``mktsync ledger import``: which row wins, the ledger's own export read back, progress.

The rule for keys and the refusals are in test_ledgercmd_import_mistakes.py; a kill at
any moment in test_ledgercmd_import_kill.py.
"""

from __future__ import annotations

import csv
import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from ledgercmd_testing import seed
from testing.project import LEAD_BY_EMAIL, Flow, csv_source, flow, write_project

from mktsync.cli import main
from mktsync.ledger import LedgerRecord, open_ledger

ROWS = [
    flow(email="ada@example.com", webinar="w1", title='=HYPERLINK("https://x.example")'),
    flow(email="bob@example.com", webinar="-3", title="-3"),
    flow(email="cy@example.com", webinar="w1", title="'=already quoted"),
    flow(email="dee@example.com", webinar="w1", title="\tTabbed"),
    flow(email="eve@example.com", webinar="@SUM(1)", title="+1"),
    flow(email="fay@example.com", webinar="\uff1dcmd", title="\uff20x"),
    flow(email="gus@example.com", webinar="w1", title="plain"),
]


def project(
    folder: Path,
    *,
    rows: list[Flow] = ROWS,
    key: str = "{{ row.webinar }}/{{ row.email }}",
    tokens: dict[str, str] | None = None,
) -> Path:
    """Campaign 1234 (``reminder``) on inline ``rows``; the ledger is ``state/ledger.db``."""
    reminder = {
        "campaign_id": 1234,
        "source": "regs",
        "lead": LEAD_BY_EMAIL,
        "key": key,
        "tokens": tokens or {"my.Title": "{{ row.title }}"},
    }
    write_project(
        folder,
        ledger="sqlite:///state/ledger.db",
        sources={"regs": {"type": "inline", "rows": rows}},
        campaigns={"reminder": reminder},
    )
    return folder


def mktsync(folder: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        code = main([*argv, "--config", "campaigns.yaml"], stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def records(folder: Path, url: str = "sqlite:///state/ledger.db") -> list[LedgerRecord]:
    with open_ledger(url, folder, create=False) as ledger:
        return list(ledger.iter_records())


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_export_quotes_formula_cells_and_import_reads_it_back_exactly(tmp_path: Path) -> None:
    folder = project(tmp_path)
    keys = ["w1/ada@example.com", "-3/bob@example.com", "w1/cy@example.com",
            "w1/dee@example.com", "@SUM(1)/eve@example.com", "\uff1dcmd/fay@example.com",
            "w1/gus@example.com"]  # fmt: skip
    write(folder / "sent.csv", [["key", "sent_at"], *([k, "2026-11-01T10:00:00Z"] for k in keys)])
    code, out, err = mktsync(folder, "ledger", "import", "sent.csv", "--campaign", "reminder",
                             "--why", "old log")  # fmt: skip
    assert code == 0, err
    code, out, err = mktsync(folder, "ledger", "export", "--out", "export.csv")
    assert code == 0, err

    lines = (folder / "export.csv").read_text(encoding="utf-8").splitlines()
    by_lead = {line.split(",")[3]: line for line in lines[1:]}
    # The cells as written: a quote before each one a spreadsheet would run.
    assert by_lead["bob@example.com"].startswith("1234,'-3/bob@example.com,sent,")
    assert by_lead["eve@example.com"].startswith("1234,'@SUM(1)/eve@example.com,sent,")
    assert by_lead["fay@example.com"].startswith("1234,'\uff1dcmd/fay@example.com,sent,")
    assert by_lead["gus@example.com"].startswith("1234,w1/gus@example.com,sent,")
    for cells in csv.reader(io.StringIO("\n".join(lines))):
        for cell in cells:
            assert not cell or cell[0] not in "=+-@\t\r\n\uff1d\uff0b\uff0d\uff20", cells
    # A token value is inside the tokens JSON object, never a cell of its own.
    assert '"{""{{my.Title}}"": ""=HYPERLINK(' in by_lead["ada@example.com"]

    code, out, err = mktsync(folder, "ledger", "--ledger", "sqlite:///copy/ledger.db", "import",
                             "export.csv", "--campaign", "reminder", "--why", "moved")  # fmt: skip
    assert code == 0, err
    assert "Recorded 7 key(s)" in out

    def essentials(recs: list[LedgerRecord]) -> list[tuple[object, ...]]:
        return [(r.campaign_id, r.key, r.status, r.lead, r.tokens, r.token_hash, r.created_at)
                for r in recs]  # fmt: skip

    original, copied = records(folder), records(folder, "sqlite:///copy/ledger.db")
    assert essentials(copied) == essentials(original)
    assert sorted(r.key for r in copied) == sorted(keys)
    assert dict(next(r for r in copied if r.key.startswith("w1/cy")).tokens) == {
        "{{my.Title}}": "'=already quoted"
    }


def test_the_ledgers_own_export_gives_its_sent_records_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    # The records `seed` makes (apply's tokens: my.Link and my.Title) for keys the
    # campaign produces: one sent, one failed, one unknown.
    rows = [flow(email=f"{n}@example.com") for n in ("ann", "ben", "cat")]
    tokens = {"my.Title": "Webinar 1", "my.Link": "https://example.com/j/1"}
    folder = project(tmp_path, rows=rows, key="{{ row.email }}/w1", tokens=tokens)
    seed(folder, sent=["ann@example.com/w1"], failed=["ben@example.com/w1"],
         unknown=["cat@example.com/w1"])  # fmt: skip
    assert mktsync(folder, "ledger", "export", "--out", "export.csv")[0] == 0
    code, out, err = mktsync(folder, "ledger", "--ledger", "sqlite:///copy/ledger.db", "import",
                             "export.csv", "--campaign", "reminder", "--why", "moved")  # fmt: skip
    assert code == 0, err
    assert "Recorded 1 key(s)" in out
    assert "skipped records not sent: failed 1, unknown 1" in err
    (copied,) = records(folder, "sqlite:///copy/ledger.db")
    (original,) = [r for r in records(folder) if r.status == "sent"]
    assert (copied.key, copied.tokens, copied.created_at) == (
        original.key,
        original.tokens,
        original.created_at,
    )


def test_the_first_row_of_a_key_wins_in_the_file_and_in_the_source(tmp_path: Path) -> None:
    rows = [
        flow(email="ada@example.com", webinar="w1", title="first"),
        flow(email="ada@example.com", webinar="w1", title="second"),
    ]
    folder = project(tmp_path, rows=rows)
    write(folder / "sent.csv", [["key", "sent_at"], ["w1/ada@example.com", "2026-11-01"],
                                ["w1/ada@example.com", "2026-11-02"]])  # fmt: skip
    code, out, err = mktsync(folder, "ledger", "import", "sent.csv", "--campaign", "reminder",
                             "--why", "old log")  # fmt: skip
    assert code == 0, err
    assert "Recorded 1 key(s)" in out
    assert "2 row(s) read, 1 key(s) found among 2 rendered source row(s)" in err
    (record,) = records(folder)
    assert record.created_at == "2026-11-01T00:00:00.000Z"  # the file's first row
    assert dict(record.tokens) == {"{{my.Title}}": "first"}  # the source's first row, as plan


# -- progress ----------------------------------------------------------------------------------
def big_project(folder: Path, rows: int) -> None:
    write_project(
        folder,
        ledger="sqlite:///state/ledger.db",
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": {"campaign_id": 1234, "source": "regs", "lead": LEAD_BY_EMAIL}},
    )
    emails = [f"lead{i}@example.com" for i in range(rows)]
    write(folder / "regs.csv", [["email"], *([e] for e in emails)])
    write(folder / "sent.csv", [["key"], *([e] for e in emails)])


def run_import(folder: Path, *, terminal: bool) -> tuple[int, str, str]:
    """``python -m mktsync ledger import sent.csv`` with stderr on a terminal (a pty) or a pipe."""
    argv = [sys.executable, "-m", "mktsync", "ledger", "import", "sent.csv", "--campaign",
            "reminder", "--why", "old log"]  # fmt: skip
    if not terminal:
        done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    with subprocess.Popen(argv, cwd=folder, stdout=subprocess.PIPE, stderr=slave) as child:
        os.close(slave)
        shown = b""
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            shown += data
        os.close(master)
        assert child.stdout is not None
        out = child.stdout.read().decode()
    return child.returncode, out, shown.decode().replace("\r\n", "\n")  # the tty's newlines


def test_progress_is_rewritten_in_place_on_a_terminal_and_a_count_line_ends_it(
    tmp_path: Path,
) -> None:
    big_project(tmp_path, 25_000)
    code, out, err = run_import(tmp_path, terminal=True)
    assert code == 0, err
    assert "Recorded 25000 key(s)" in out
    updates = err.split("\r")
    assert any(u.startswith("reading sent.csv: 20,000 rows") for u in updates), err
    assert any(u.startswith("checking the keys: 20,000 source rows rendered") for u in updates)
    assert any(u.startswith("recording: 25,000 of 25,000 records") for u in updates)
    assert err.count("\n") == 1  # updates rewrite one line; only the count line ends one
    last = updates[-1].strip()
    assert last == (
        "sent.csv: 25,000 row(s) read, 25,000 key(s) found among 25,000 rendered source"
        " row(s), 25,000 record(s) written"
    )


def test_no_progress_off_a_terminal_only_the_count_line(tmp_path: Path) -> None:
    big_project(tmp_path, 25_000)
    (tmp_path / "sent.csv").write_text("key\nlead1@example.com\n", encoding="utf-8")
    code, out, err = run_import(tmp_path, terminal=False)
    assert code == 0, err
    assert err == (
        "sent.csv: 1 row(s) read, 1 key(s) found among 25,000 rendered source row(s),"
        " 1 record(s) written\n"
    )


def test_an_error_after_progress_starts_on_a_clean_line(tmp_path: Path) -> None:
    big_project(tmp_path, 25_000)
    with (tmp_path / "sent.csv").open("a", encoding="utf-8") as f:
        f.write("nobody@example.com\n")
    code, out, err = run_import(tmp_path, terminal=True)
    assert code == 1
    assert "\r" + " " * 10 in err  # the progress line was cleared
    error = err.split("\r")[-1].replace("\r", "")
    assert error.startswith("error: sent.csv: 1 key(s) that campaign 'reminder' never produces")
    assert "line 25002: 'nobody@example.com'" in error
    assert out == ""
