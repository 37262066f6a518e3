"""Reporters: a plan written as text, Markdown or JSON to a given stream, chosen by name.

Only ``cli`` and this package write to stdout.  All three carry the same facts;
Markdown masks email addresses unless asked not to, for pull-request comments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from mktsync.plan import Plan
from mktsync.plan.file import write_plan
from mktsync.report.markdown import COMMENT, WHO_SHOWN, Budget, Context, render_markdown
from mktsync.report.text import render_text, write_text

Reporter = Callable[[Plan, TextIO, "ReportOptions"], None]


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """How to write: colour (text on a TTY), PII shown or masked, sample sizes.

    ``sample_rows`` is for plans of untrusted changes (a fork's pull request): when set, at
    most that many rows per campaign are shown (0: counts only, no who list), whatever ``limit`` says,
    while "who gets the email" still names up to ``WHO_SHOWN`` leads a campaign: masked,
    with their rows, it shows who is emailed, not the data (docs/security.md).
    ``context`` is what a Markdown comment says it describes (commit, ledger, time);
    ``budget`` how long the Markdown may be (a comment, or ``plan --out-markdown``'s file);
    ``notes`` the plan's ``warning: ...`` lines, which the Markdown shows at its top.
    """

    color: bool = False
    show_pii: bool = False
    verbose: bool = False  # text: list every lead to trigger (``plan -v``), ``rows`` at most
    limit: int = 20
    sample_rows: int | None = None
    context: Context | None = None
    budget: Budget = COMMENT
    notes: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return self.limit if self.sample_rows is None else min(self.limit, self.sample_rows)

    @property
    def who(self) -> int:
        return 0 if self.sample_rows == 0 else WHO_SHOWN  # 0: counts only


def _text(plan: Plan, out: TextIO, options: ReportOptions) -> None:
    write_text(
        plan,
        out,
        color=options.color,
        limit=options.rows,
        leads=options.verbose,
        show_pii=options.show_pii,
    )


def _markdown(plan: Plan, out: TextIO, options: ReportOptions) -> None:
    out.write(
        render_markdown(
            plan,
            show_pii=options.show_pii,
            limit=options.rows,
            who=options.who,
            context=options.context,
            budget=options.budget,
            notes=options.notes,
        )
    )


def _json(plan: Plan, out: TextIO, options: ReportOptions) -> None:
    write_plan(plan, out)


REPORTERS: dict[str, Reporter] = {"text": _text, "markdown": _markdown, "json": _json}

__all__ = ["REPORTERS", "Context", "ReportOptions", "render_markdown", "render_text"]
