"""Classification of items against the ledger, over real files and a real SQLite ledger."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from testing.plans import items_of, record, row, write_project

from mktsync import plan_config
from mktsync.config import load_config


def classes(config_path: Path, **kwargs: object) -> dict[str, int]:
    _, plan = plan_config(config_path, **kwargs)  # type: ignore[arg-type]
    return dict(plan.campaigns[0].counts)


def only(**counts: int) -> dict[str, int]:
    names = ("trigger", "retrigger", "unchanged", "filtered", "invalid", "unknown", "changed",
             "deferred")  # fmt: skip
    base = dict.fromkeys(names, 0)
    base.update(counts)
    return base


@pytest.mark.parametrize(
    ("retrigger", "status", "code_now", "expected"),
    [
        # nothing in the ledger: new
        ("on_change", None, "c", only(trigger=1)),
        # sent with the same tokens: unchanged whatever retrigger says
        ("on_change", "sent", "c", only(unchanged=1)),
        ("never", "sent", "c", only(unchanged=1)),
        # sent with other tokens: retrigger with on_change; with never it is shown as changed
        ("on_change", "sent", "NEW", only(retrigger=1)),
        ("never", "sent", "NEW", only(changed=1)),
        # a definite failure is tried again
        ("never", "failed", "c", only(trigger=1)),
        # unknown outcome (or a run that died mid-call): not resent
        ("on_change", "unknown", "c", only(unknown=1)),
        ("on_change", "pending", "c", only(unknown=1)),
    ],
)
def test_classification(
    tmp_path: Path, retrigger: str, status: str | None, code_now: str, expected: dict[str, int]
) -> None:
    path = write_project(tmp_path, [row("ann@example.com")], retrigger=retrigger)
    if status:
        record(path, status, items_of(load_config(path)))
    write_project(tmp_path, [row("ann@example.com", code=code_now)], retrigger=retrigger)
    assert classes(path) == expected


def test_filtered_and_invalid_are_counted(tmp_path: Path) -> None:
    path = write_project(
        tmp_path,
        [row("ann@example.com"), row("bob@example.com", status="cancelled"), row("")],
        extra="    max_invalid: 1\n",
    )
    _, plan = plan_config(path)
    cp = plan.campaigns[0]
    assert dict(cp.counts) == only(trigger=1, filtered=1, invalid=1)
    assert cp.invalid[0].row == 4
    assert "email" in cp.invalid[0].reason


def test_retry_unknown_sends_unknown_items(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    record(path, "unknown", items_of(load_config(path)))
    _, plan = plan_config(path)
    assert plan.summary.trigger_calls == 0
    _, plan = plan_config(path, retry_unknown=True)
    assert plan.summary.trigger_calls == 1
    assert plan.campaigns[0].calls[0].items[0].retry_of == "unknown"


def test_retrigger_carries_old_tokens(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com", code="old")])
    record(path, "sent", items_of(load_config(path)))
    write_project(tmp_path, [row("ann@example.com", code="new")])
    _, plan = plan_config(path)
    planned = plan.campaigns[0].calls[0].items[0]
    assert planned.action == "retrigger"
    assert dict(planned.old_tokens or ())["{{my.Link}}"] == "https://example.com/j/old"
    assert dict(planned.item.tokens)["{{my.Link}}"] == "https://example.com/j/new"


def test_changing_campaign_id_makes_items_new(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    config = load_config(path)
    record(path, "sent", [replace(i, campaign_id=999) for i in items_of(config)])
    assert classes(path) == only(trigger=1)


def test_cached_emails_need_no_lookup(tmp_path: Path) -> None:
    from mktsync.ledger import open_ledger

    path = write_project(tmp_path, [row(f"u{i}@example.com", code=str(i)) for i in range(350)])
    _, plan = plan_config(path)
    assert plan.summary.lookup_calls == 2  # 350 emails, 300 a lookup
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        ledger.cache_lead_ids({f"u{i}@example.com": i + 1 for i in range(100)})
    _, plan = plan_config(path)
    assert plan.campaigns[0].lookup_emails == 250
    assert plan.summary.lookup_calls == 1


def test_changed_items_carry_old_and_new_tokens_and_are_not_sent(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com", code="old")], retrigger="never")
    record(path, "sent", items_of(load_config(path)))
    write_project(tmp_path, [row("ann@example.com", code="new")], retrigger="never")
    _, plan = plan_config(path)
    assert plan.summary.trigger_calls == 0
    assert plan.summary.changed == 1
    # Accepted by 'retrigger: never': shown, but an apply would change nothing (issue 22).
    assert not plan.summary.needs_review
    changed = plan.campaigns[0].changed[0]
    assert dict(changed.old_tokens)["{{my.Link}}"] == "https://example.com/j/old"
    assert dict(changed.item.tokens)["{{my.Link}}"] == "https://example.com/j/new"


def test_plan_forecasts_emails_not_found_at_the_last_run(tmp_path: Path) -> None:
    from mktsync.ledger import open_ledger

    path = write_project(tmp_path, [row(f"u{i}@example.com") for i in range(5)])
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        ledger.cache_lead_misses(found=[], missed=["U1@example.com", "u2@example.com"])
    _, plan = plan_config(path)
    assert plan.campaigns[0].missing_forecast == 2
    assert plan.summary.missing_forecast == 2
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        ledger.cache_lead_misses(found=["u1@example.com"], missed=[])
    _, plan = plan_config(path)
    assert plan.summary.missing_forecast == 1
