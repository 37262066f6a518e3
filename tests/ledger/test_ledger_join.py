"""``changed_records``: the plan's comparison as one join, the same on SQLite and PostgreSQL.

Only keys a plan must look at come back: new (``None``), sent with other tokens, failed,
unknown and pending.  A key sent with the same tokens does not.  ``has_records`` tells a
campaign the ledger has never seen, for which a plan skips the comparison altogether.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger_testing import item

from mktsync.items import token_hash
from mktsync.ledger import Ledger


def test_only_keys_to_look_at_come_back(open_: Callable[..., Ledger]) -> None:
    ledger = open_()
    same, other, failed, unknown, pending = (
        item(f"{name}@example.com/w1") for name in ("same", "other", "failed", "unknown", "pending")
    )
    with ledger.lock(command="test"):
        run = ledger.start_run(command="test")
        ledger.mark_pending(run, [same, other, failed, unknown, pending])
        ledger.mark_sent(run, 1234, [same.key, other.key], request_id="r1")
        ledger.mark_failed(run, 1234, [failed.key], code="1003", message="bad")
        ledger.mark_unknown(run, 1234, [unknown.key], reason="timeout")
    # 'pending' stays pending: a run that died mid-call
    view = open_(create=False)
    assert view.has_records(1234) and not view.has_records(99)
    new_tokens = (("{{my.Link}}", "https://example.com/j/2"), ("{{my.Title}}", "Webinar 1"))
    pairs = [
        (same.key, token_hash(same.tokens)),
        (other.key, token_hash(new_tokens)),
        (failed.key, token_hash(failed.tokens)),
        (unknown.key, token_hash(unknown.tokens)),
        (pending.key, token_hash(pending.tokens)),
        ("new@example.com/w1", token_hash(same.tokens)),
    ]
    found = view.changed_records(1234, pairs)
    assert sorted(found) == sorted(k for k, _ in pairs[1:])
    assert found["new@example.com/w1"] is None
    other_record = found[other.key]
    assert other_record is not None and other_record.tokens == other.tokens  # what was sent
    assert {k: r.status for k, r in found.items() if r is not None} == {
        other.key: "sent",
        failed.key: "failed",
        unknown.key: "unknown",
        pending.key: "pending",
    }
    # Another campaign id is another namespace; more pairs than one statement takes.
    many = [(f"k{n}", "h") for n in range(2500)]
    assert view.changed_records(99, many) == dict.fromkeys(k for k, _ in many)
    assert view.changed_records(1234, []) == {}
