"""The verdict is decided once (``apply.verdict``); its words agree with it in every case."""

from __future__ import annotations

import itertools

import pytest

from mktsync.apply.verdict import EXIT_OF, Advice, Cause, Sent, Shortfall, decide
from mktsync.errors import EXIT_ERROR, EXIT_HELD, EXIT_INCOMPLETE, EXIT_OK, EXIT_QUOTA
from mktsync.report.outcome import ADVICE_WORDS, SHORTFALL_WORDS, verdict_line

ENDINGS = [
    {},
    {"stopped_by": "SIGTERM", "stop_code": 143},
    {"quota_stopped": True},
    {"refused": 1},
]
SENT = [Sent(), Sent(leads=5, calls=1), Sent(runs=2)]


def test_every_shortfall_has_its_words_and_its_exit_code() -> None:
    assert set(SHORTFALL_WORDS) == set(Shortfall) == set(EXIT_OF)
    # the advice to cancel orphaned runs says 'it' or 'them': worded with its count
    assert set(ADVICE_WORDS) == set(Advice) - {Advice.CANCEL_ORPHANS}


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda e: ",".join(e) or "finished")
@pytest.mark.parametrize("sent", SENT, ids=repr)
def test_ok_and_the_words_agree_for_every_pair_of_shortfalls(
    ending: dict[str, object], sent: Sent
) -> None:
    for pair in itertools.chain([()], itertools.combinations(Shortfall, 1),
                                itertools.combinations(Shortfall, 2)):  # fmt: skip
        counts = dict.fromkeys(pair, 2)
        v = decide(sent=sent, counts=counts, **ending)  # type: ignore[arg-type]
        line = verdict_line(v)
        all_well = line.startswith(("Everything planned was sent", "Nothing to trigger"))
        assert v.ok == all_well == (not pair and not ending), (pair, ending, line)
        if v.ok:
            assert v.exit_code == EXIT_OK and v.advice is None
        for shortfall in pair:  # every shortfall is named
            assert SHORTFALL_WORDS[shortfall](2) in line or v.cause is Cause.ORPHANED, line
        codes = {EXIT_OF[s] for s in pair}
        expected = (
            ending.get("stop_code")
            or (EXIT_QUOTA if ending.get("quota_stopped") else None)
            or (EXIT_ERROR if ending.get("refused") else None)
            or (EXIT_INCOMPLETE if EXIT_INCOMPLETE in codes else None)
            or (EXIT_HELD if EXIT_HELD in codes else EXIT_OK)
        )
        assert v.exit_code == expected, (pair, ending)


def test_runs_still_scheduled_for_gone_rows_alone_are_not_everything_sent() -> None:
    v = decide(sent=Sent(leads=3, calls=1), counts={Shortfall.RUNS_ORPHANED: 1})
    assert (v.cause, v.ok, v.exit_code) == (Cause.ORPHANED, False, EXIT_INCOMPLETE)
    assert verdict_line(v).startswith("3 leads sent in 1 call, but 1 batch run is still")
