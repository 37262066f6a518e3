"""Reporters: a plan written as text, Markdown or JSON to a given stream, chosen by name.

Only ``cli`` and this package write to stdout.  All three carry the same facts;
Markdown masks email addresses unless asked not to, for pull-request comments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from mktsync.plan import Plan
from mktsync.planfile import write_plan
from mktsync.report.markdown import render_markdown
from mktsync.report.text import render_text

Reporter = Callable[[Plan, TextIO, "ReportOptions"], None]


class ReportOptions:
    """How to write: colour (text on a TTY), PII shown or masked (Markdown), sample sizes."""

    def __init__(self, *, color: bool = False, show_pii: bool = False, limit: int = 20) -> None:
        self.color = color
        self.show_pii = show_pii
        self.limit = limit


def _text(plan: Plan, out: TextIO, options: ReportOptions) -> None:
    out.write(render_text(plan, color=options.color, limit=options.limit))


def _markdown(plan: Plan, out: TextIO, options: ReportOptions) -> None:
    out.write(render_markdown(plan, show_pii=options.show_pii, limit=options.limit))


def _json(plan: Plan, out: TextIO, options: ReportOptions) -> None:
    write_plan(plan, out)


REPORTERS: dict[str, Reporter] = {"text": _text, "markdown": _markdown, "json": _json}

__all__ = ["REPORTERS", "ReportOptions", "render_markdown", "render_text"]
