"""What a plan says about its data before its counts (issue 22), in one place for every report.

>>> [n.line for n in plan_notes(plan)]                                   # doctest: +SKIP
["warning: webinar-reminder: row.status == 'Registered' matches no row; status has:
registered, cancelled; did you mean 'registered'?"]

A plan that is green must mean nothing is wrong.  Some things a plan finds are not
counted anywhere else:

- ``when_matches_no_row`` (a warning): a ``when`` compares a column with a literal no row
  holds (``render.values``: ``row.status == 'Registered'`` when the data says
  ``registered``).  It names the values the column holds and the nearest one.
- ``all_rows_filtered`` (a note): a campaign whose ``when`` left out every row of its
  source.  Often by design (a reminder due on some days only), so not a warning; the
  headline says it too (``filtered_all``).
- ``deferred`` (a note): rows deferred to the next run because another row of the run
  writes other values to the same lead's fields (``plan.defer``), naming both rows and
  what differs.

``plan_notes`` gives them as ``PlanNote`` records in that order, each with its words and
its facts: the text and Markdown reports print ``line`` at the top (Markdown escapes and
masks it as all data), the plan's JSON writes each as an entry of ``notes``
(docs/plan-json.md).  ``values`` caps the column values a warning lists (a fork's pull
request shows fewer, as it shows fewer rows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mktsync.plan.records import Action, CampaignPlan, DeferredItem, Plan, SchedulePlan
from mktsync.render.values import WhenMiss

VALUES_SHOWN = 10  # column values a warning lists (of the at most render.values.KEPT kept)
DEFERRED_SHOWN = 3  # deferred rows a note names; the campaign's section lists them all

WHEN_MATCHES_NO_ROW = "when_matches_no_row"
ALL_ROWS_FILTERED = "all_rows_filtered"
DEFERRED = "deferred"


Part = tuple[str, bool]  # a piece of a note's words, and whether it is data (from the files)


@dataclass(frozen=True, kw_only=True)
class PlanNote:
    """One thing the plan says before its counts: ``severity`` is ``warning`` or ``note``.

    ``parts`` are its words, each piece marked as data (names, values: from the config
    and the sources) or not, so Markdown can show data literally and the rest as prose."""

    kind: str
    severity: str
    campaign: str
    parts: tuple[Part, ...]
    facts: Mapping[str, Any]  # what the JSON carries besides the words

    @property
    def text(self) -> str:
        """The words, starting with the campaign's name."""
        return "".join(text for text, _ in self.parts)

    @property
    def line(self) -> str:
        return f"{self.severity}: {self.text}"

    def words(self, data: Callable[[str], str]) -> str:
        """The words with each piece of data passed through ``data`` (Markdown: a code span)."""
        return "".join(data(text) if is_data else text for text, is_data in self.parts)

    def as_json(self) -> dict[str, Any]:
        """The entry of a JSON ``notes`` list (plan and apply alike, docs/plan-json.md)."""
        return {"kind": self.kind, "severity": self.severity, "campaign": self.campaign,
                "text": self.text, **self.facts}  # fmt: skip


def plan_notes(plan: Plan, *, values: int = VALUES_SHOWN) -> list[PlanNote]:
    """Every note of ``plan``: the ``when`` warnings, then whole campaigns filtered, then
    deferred rows, each in campaign order."""
    notes = [_when_note(m, values) for m in plan.when_misses]
    for cp in _entries(plan):
        rows = all_filtered(cp)
        if rows:
            notes.append(
                PlanNote(
                    kind=ALL_ROWS_FILTERED,
                    severity="note",
                    campaign=cp.name,
                    parts=((cp.name, True), (_filtered_words("", rows), False)),
                    facts={"rows": rows},
                )
            )
    for cp in plan.campaigns:
        if cp.deferred:
            notes.append(_deferred_note(cp))
    return notes


def _entries(plan: Plan) -> list[CampaignPlan | SchedulePlan]:
    return [*plan.campaigns, *plan.schedules]


def all_filtered(cp: CampaignPlan | SchedulePlan) -> int:
    """The rows of a campaign (or batch campaign) whose ``when`` left out every one of
    them, else 0."""
    rows = sum(cp.counts.values()) + (len(cp.held) if isinstance(cp, CampaignPlan) else 0)
    return rows if rows and cp.counts.get(Action.FILTERED, 0) == rows else 0


def filtered_all(
    plan: Plan, *, shown: int = 3, show: Callable[[str], str] | None = None
) -> str | None:
    """The headline's words for campaigns whose ``when`` left out every row, or None:
    ``webinar-reminder: all 1,234 rows filtered by when`` (names through ``show``)."""
    found = [(cp.name, rows) for cp in _entries(plan) if (rows := all_filtered(cp))]
    if not found:
        return None
    words = [_filtered_words(show(name) if show else name, rows) for name, rows in found[:shown]]
    if len(found) > shown:
        words.append(f"{len(found) - shown:,} more campaigns filter every row")
    return "; ".join(words)


def _filtered_words(name: str, rows: int) -> str:
    every = "the only row" if rows == 1 else f"all {rows:,} rows"
    return f"{name}: {every} filtered by when"


def _when_note(miss: WhenMiss, values: int) -> PlanNote:
    shown = miss.values[: max(values, 0)]
    listed: list[Part] = []
    for n, value in enumerate(shown):
        listed += [(", ", False)] if n else []
        listed.append((value, True))
    rest = len(miss.values) - len(shown)
    if rest and miss.more:
        listed.append((f" and over {rest:,} more", False))
    elif rest:
        listed.append((f" and {rest:,} more", False))
    elif miss.more:
        listed.append((" and others", False))
    parts: list[Part] = [(miss.campaign, True), (": ", False), (miss.comparison, True)]
    if miss.comparison.endswith("]"):  # in / not in: name the literal that matches nothing
        parts += [(": ", False), (miss.literal, True)]
    parts.append((" matches no row", False))
    if "!=" in miss.comparison or " not in " in miss.comparison:
        parts.append((", so it is true for every row", False))
    parts += [("; ", False), (miss.column, True), (" has: ", False)]
    parts += listed or [("no values", False)]
    if miss.nearest is not None:
        parts += [("; did you mean ", False), (miss.nearest, True), ("?", False)]
    return PlanNote(
        kind=WHEN_MATCHES_NO_ROW,
        severity="warning",
        campaign=miss.campaign,
        parts=tuple(parts),
        facts={
            "comparison": miss.comparison,
            "column": miss.column,
            "literal": miss.literal,
            "values": list(miss.values),
            "more_values": miss.more,
            "nearest": miss.nearest,
        },
    )


def _deferred_note(cp: CampaignPlan) -> PlanNote:
    count = len(cp.deferred)
    rows = "1 row is" if count == 1 else f"{count:,} rows are"
    parts: list[Part] = [
        (cp.name, True),
        (
            f": {rows} deferred to the next run, as another row of this run writes other "
            "values to the same lead's fields (a lead field holds one value): ",
            False,
        ),
    ]
    for n, d in enumerate(cp.deferred[:DEFERRED_SHOWN]):
        parts += [("; ", False)] if n else []
        parts += deferred_parts(d)
    if count > DEFERRED_SHOWN:
        parts.append((f"; and {count - DEFERRED_SHOWN:,} more", False))
    return PlanNote(kind=DEFERRED, severity="note", campaign=cp.name, parts=tuple(parts),
                    facts={"rows": count})  # fmt: skip


def deferred_words(d: DeferredItem) -> str:
    """``trials row 4 goes after trials row 2 (differs: trialWorkspace, my.Plan)``: both
    rows, and the names of what differs (values are the campaign's section's to show)."""
    return "".join(text for text, _ in deferred_parts(d))


def deferred_parts(d: DeferredItem) -> list[Part]:
    """``deferred_words`` as parts (data marked)."""
    item = d.item
    parts: list[Part] = [(item.source, True), (f" row {item.row} goes after ", False)]
    parts += [(d.first_source, True), (f" row {d.first_row}", False)]
    if d.first_campaign != item.campaign:
        parts += [(" of ", False), (d.first_campaign, True)]
    parts.append((" (differs: ", False))
    for n, (name, _, _) in enumerate(d.differs):
        parts += [(", ", False)] if n else []
        parts.append((_plain(name), True))
    return [*parts, (")", False)]


def _plain(name: str) -> str:
    """A token's name as written in the config (``my.Plan``), a field's as it is."""
    return name[2:-2] if name.startswith("{{") and name.endswith("}}") else name


def differs_lines(d: DeferredItem) -> Sequence[tuple[str, str | None, str | None]]:
    """What differs between a deferred row and the row that goes first, names as written."""
    return [(_plain(name), a, b) for name, a, b in d.differs]
