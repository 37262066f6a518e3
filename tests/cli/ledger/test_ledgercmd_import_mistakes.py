"""Every bad import file gives exactly the output in its ``.expected``, and writes nothing.

A case is ``import_mistakes/NAME.csv`` with ``NAME.expected``: the command line, what it
prints (stdout, then stderr) and its exit code, imported for campaign ``reminder`` of
``import_mistakes/campaigns.yaml``.  Each case runs twice: with no ledger (a refused
file must not create one) and with a ledger holding an earlier import (its records,
runs and fingerprint must not move).  ``MKTSYNC_WRITE_EXPECTED=1`` rewrites the
``.expected`` files from the current output (review the diff before committing it).

The hypothesis test feeds ``sent_at`` strings of every shape: each is recorded (a time
from 1970 to now, as UTC) or refused with an error naming the file, the line and the
column -- never a traceback.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ledgercmd_testing import snapshot

from mktsync.cli import main
from mktsync.ledger import open_ledger

HERE = Path(__file__).resolve().parent / "import_mistakes"
CASES = sorted(p.stem for p in HERE.glob("*.csv"))
GOOD = "key,sent_at,my.Title\nbob@example.com/w1,2026-11-02T08:00:00Z,Scaling Marketo Ops\n"


def run(folder: Path, name: str) -> str:
    argv = ["ledger", "import", name, "--campaign", "reminder", "--why", "corpus"]
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        code = main([*argv, "--config", "campaigns.yaml"], stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return f"$ mktsync {' '.join(argv)}\n{out.getvalue()}{err.getvalue()}exit {code}\n"


def test_the_corpus_covers_every_kind_of_mistake() -> None:
    assert len(CASES) >= 20
    assert all((HERE / f"{name}.expected").is_file() for name in CASES)


@pytest.mark.parametrize("name", CASES)
def test_a_bad_file_is_refused_with_its_line_and_creates_no_ledger(
    tmp_path: Path, name: str
) -> None:
    shutil.copy(HERE / "campaigns.yaml", tmp_path)
    shutil.copy(HERE / f"{name}.csv", tmp_path)
    actual = run(tmp_path, f"{name}.csv")
    expected_file = HERE / f"{name}.expected"
    if os.environ.get("MKTSYNC_WRITE_EXPECTED"):
        expected_file.write_text(actual, encoding="utf-8")
    assert actual == expected_file.read_text(encoding="utf-8")
    assert actual.endswith("exit 1\n")
    assert "Traceback" not in actual and "internal error" not in actual
    assert not (tmp_path / "state").exists(), "a refused import must not create the ledger"


@pytest.mark.parametrize("name", CASES)
def test_a_bad_file_leaves_an_existing_ledger_as_it_was(tmp_path: Path, name: str) -> None:
    shutil.copy(HERE / "campaigns.yaml", tmp_path)
    shutil.copy(HERE / f"{name}.csv", tmp_path)
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    assert run(tmp_path, "good.csv").endswith("exit 0\n")
    before = snapshot(tmp_path)
    assert len(before[0]) == 1
    assert run(tmp_path, f"{name}.csv").endswith("exit 1\n")
    assert snapshot(tmp_path) == before


# -- sent_at of every shape -------------------------------------------------------------------
OFFSETS = st.sampled_from(["", "Z", "+00:00", "-05:00", "+05:30", "+14:00", "-23:59", "+24:00",
                           "+99:99", "-00:01", "+0530", "z", " UTC"])  # fmt: skip


@st.composite
def date_like(draw: st.DrawFn) -> str:
    """ISO-8601-shaped strings at and past the edges: years 0-9999, month 13, day 31 of
    February, hour 24, offsets that push the time out of the years 1-9999."""
    year = draw(st.sampled_from([0, 1, 1, 2, 1969, 1970, 2026, 2026, 2027, 9998, 9999, 9999]))
    month = draw(st.sampled_from([1, 1, 2, 6, 12, 12, 0, 13]))
    day = draw(st.sampled_from([1, 1, 15, 28, 31, 31, 0, 30, 32]))
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if draw(st.booleans()):
        hour, minute = draw(st.integers(0, 25)), draw(st.integers(0, 60))
        text += draw(st.sampled_from(["T", " "])) + f"{hour:02d}:{minute:02d}:00"
        if draw(st.booleans()):
            text += "." + "9" * draw(st.integers(1, 9))
    return text + draw(OFFSETS)


@st.composite
def iso_times(draw: st.DrawFn) -> str:
    """Well-formed times, with or without a UTC offset: at the ends of the years 1-9999
    (where an offset leaves them), around 1970, in the years a send can have, anywhere."""
    edges = [datetime(1, 1, 1), datetime(1, 1, 1, 23, 59), datetime(9999, 12, 31),
             datetime(9999, 12, 31, 23, 59, 59), datetime(1970, 1, 1),
             datetime(1969, 12, 31, 23, 59, 59)]  # fmt: skip
    moment = draw(
        st.one_of(
            st.sampled_from(edges),
            st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2026, 1, 1)),
            st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
        )
    )
    text = moment.isoformat(sep=draw(st.sampled_from("T ")))
    offset = draw(
        st.sampled_from([None, 0, 330, -300, 1439, -1439, draw(st.integers(-1439, 1439))])
    )
    if offset is not None:
        text += f"{'-' if offset < 0 else '+'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return text


SENT_AT = st.one_of(
    iso_times(),
    date_like(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
)
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(sent_at=SENT_AT)
@example(sent_at="0001-01-01T00:00:00+05:00")  # before year 1 in UTC: was an internal error
@example(sent_at="9999-12-31T23:59:59-05:00")  # after year 9999 in UTC: was one too
@example(sent_at="2026-11-01T10:00:00+01:00")
def test_any_sent_at_is_recorded_as_utc_or_refused_at_its_line(sent_at: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(HERE / "campaigns.yaml", folder)
        with (folder / "sent.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["key", "sent_at"])
            writer.writerow(["ada@example.com/w1", sent_at])
        text = run(folder, "sent.csv")
        assert "Traceback" not in text and "internal error" not in text, text
        if text.endswith("exit 1\n"):
            assert "\nerror: sent.csv:2: sent_at: " in text, text
            assert "is not a usable time: " in text, text
            assert not (folder / "state").exists()
            return
        assert text.endswith("exit 0\n"), text
        with open_ledger("sqlite:///state/ledger.db", folder, create=False) as ledger:
            (record,) = ledger.get(1234, "ada@example.com/w1")
        when = datetime.fromisoformat(record.created_at)
        assert record.created_at.endswith("Z")
        assert datetime(1970, 1, 1, tzinfo=UTC) <= when <= datetime.now(UTC) + timedelta(minutes=5)
