"""``unmark_pending``: a call Marketo did nothing with leaves its items as they were."""

from __future__ import annotations

from ledger_testing import item

from mktsync.ledger import Ledger


def test_refused_call_puts_every_item_back_as_it_was(ledger: Ledger) -> None:
    new, resent, failed = "new@example.com/w1", "sent@example.com/w1", "failed@example.com/w1"
    with ledger.lock(command="apply", timeout=5):
        first = ledger.start_run(command="apply")
        ledger.mark_pending(first, [item(resent), item(failed)], lead_ids={resent: 7, failed: 8})
        ledger.mark_sent(first, 1234, [resent], request_id="r1")
        ledger.mark_failed(first, 1234, [failed], code="1003", message="not active")
        keys = [new, resent, failed]
        before = {k: ledger.lookup(1234, keys).get(k) for k in keys}
        moved = ledger.fingerprint()
        second = ledger.start_run(command="apply")
        # The retriggered one with new tokens, as apply marks a call that leaves.
        ledger.mark_pending(
            second, [item(new), item(resent, title="Webinar 2"), item(failed)], lead_ids={new: 9}
        )
        ledger.unmark_pending(second, 1234, before)  # 606: Marketo did nothing
        assert ledger.lookup(1234, keys) == {k: r for k, r in before.items() if r is not None}
        assert ledger.fingerprint() != moved  # a reader's saved plan sees the change
        assert ledger.verify() == 2  # the records put back pass their checksums
        # Only this run's pending records are touched: a sent one stays sent.
        ledger.mark_pending(second, [item(new)], lead_ids={new: 9})
        ledger.mark_sent(second, 1234, [new], request_id="r2")
        ledger.unmark_pending(second, 1234, {new: None})
        assert ledger.lookup(1234, [new])[new].status == "sent"
