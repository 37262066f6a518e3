"""``schedules:`` (batch campaigns) checked and built; see ``mktsync.plan.batch`` for planning."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mktsync.config.checker import Checker, normalise_token_name
from mktsync.config.defaults import SCHEDULE, filled
from mktsync.config.model import Schedule, Template, TokenSpec
from mktsync.config.reads import as_condition, is_braced
from mktsync.config.yamlfile import JsonPath


def parse_run_at(text: str) -> datetime | None:
    """``run_at`` as a moment; None unless ISO 8601 with a UTC offset."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def check_schedules(checker: Checker, data: dict[str, Any], used: set[str]) -> None:
    schedules = data.get("schedules")
    if not isinstance(schedules, dict):
        return
    sources = data.get("sources") if isinstance(data.get("sources"), dict) else {}
    campaigns = data.get("campaigns") if isinstance(data.get("campaigns"), dict) else {}
    trigger_ids = {  # a list or mapping as an id is the schema's to report (and unhashable)
        c["campaign_id"]: name
        for name, c in (campaigns or {}).items()
        if isinstance(c, dict) and isinstance(c.get("campaign_id"), int)
    }
    for name, schedule in schedules.items():
        if not isinstance(schedule, dict):
            continue
        path: JsonPath = ("schedules", name)
        source = schedule.get("source")
        if isinstance(source, str):
            if source in (sources or {}):
                used.add(source)
            else:
                checker.error((*path, "source"), f"no source named '{source}' under 'sources'")
        cid = schedule.get("campaign_id")
        if isinstance(cid, int) and cid in trigger_ids:
            checker.error(
                (*path, "campaign_id"),
                f"campaign {cid} is triggered by campaigns.{trigger_ids[cid]}; a schedule runs a "
                "batch campaign, which cannot also be a trigger campaign",
            )
        for field in ("when", "key", "run_at", "clone_to_program"):
            if isinstance(schedule.get(field), str):
                checker.check_template((*path, field), schedule[field])
        tokens = schedule.get("tokens")
        for token, text in (tokens if isinstance(tokens, dict) else {}).items():
            if isinstance(text, (str, int, float, bool)):
                checker.check_template((*path, "tokens", token), str(text))
        checker.check_tokens(schedule, path)
        run_at = schedule.get("run_at")
        literal_time = isinstance(run_at, str) and not is_braced(run_at) and "{%" not in run_at
        if literal_time and parse_run_at(str(run_at)) is None:
            checker.error(
                (*path, "run_at"),
                f"'{run_at}' is not an ISO 8601 time with a UTC offset, such as "
                "2026-12-01T15:00:00+01:00",
            )
        written = str(schedule.get("key", "")) + str(run_at)
        if "source" not in schedule and "row." in written:
            checker.error(path, "templates read 'row' but the schedule has no 'source'", key=True)


def build_schedules(
    data: dict[str, Any],
    template: Callable[[JsonPath, Any], Template],
    pos: Callable[[JsonPath], Any],
) -> dict[str, Schedule]:
    found = {}
    for name, raw in (data.get("schedules") or {}).items():
        sp: JsonPath = ("schedules", name)

        def opt(field: str, raw: dict[str, Any] = raw, sp: JsonPath = sp) -> Template | None:
            return template((*sp, field), raw[field]) if field in raw else None

        when = template((*sp, "when"), as_condition(str(raw["when"]))) if "when" in raw else None
        found[name] = Schedule(
            name=name,
            campaign_id=raw["campaign_id"],
            run_at=template((*sp, "run_at"), raw["run_at"]),
            source=raw.get("source"),
            when=when,
            key=opt("key"),
            retrigger=filled(raw, SCHEDULE)["retrigger"],
            tokens=tuple(
                sorted(
                    (
                        TokenSpec(
                            name=normalise_token_name(k), template=template((*sp, "tokens", k), v)
                        )
                        for k, v in (raw.get("tokens") or {}).items()
                    ),
                    key=lambda t: t.name,
                )
            ),
            clone_to_program=opt("clone_to_program"),
            position=pos(sp),
        )
    return found
