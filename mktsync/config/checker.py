"""What every section of ``validate`` shares: located problems, templates, token names.

>>> checker = Checker(doc)                                        # doctest: +SKIP
>>> checker.check_template(("campaigns", "x", "when"), "row.status == 'new'")
>>> checker.problems
[]

``Checker`` collects problems (never only the first), each located through the
document's positions.  ``check_template`` checks one template text: it compiles in the
sandbox, reads only ``row``, ``now`` and ``today``, and a ``when`` (an expression, or a
template) is not the same for every row; each distinct text is checked once per process.
``check_tokens`` refuses two spellings of one token name.  The sections themselves are
checked above: campaigns in ``validate``, schedules in ``batch``, environments in
``environments``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from mktsync.config.compiled import compiled
from mktsync.config.policy import Policy
from mktsync.config.reads import as_condition, constant_when, is_braced
from mktsync.config.schema import did_you_mean, located
from mktsync.config.yamlfile import Document, JsonPath, dotted
from mktsync.errors import Problem
from mktsync.sandbox import CONTEXT_NAMES, make_environment

_TOKEN = re.compile(r"^(?:\{\{\s*(my\.[^{}]+?)\s*\}\}|(my\.[^{}]+))$")


def normalise_token_name(name: str) -> str:
    """``my.Name`` and ``{{ my.Name }}`` both become ``{{my.Name}}``, the form Marketo expects."""
    match = _TOKEN.match(name.strip())
    if not match:
        raise ValueError(name)
    return "{{" + (match.group(1) or match.group(2)).strip() + "}}"


def key_text(campaign: dict[str, Any]) -> str:
    """A campaign's ledger key as written (its ``key``, else its lead reference): two
    campaigns sending to one campaign id with the same text would share ledger records."""
    if "key" in campaign:
        return str(campaign["key"]).strip()
    lead = _mapping(campaign.get("lead"))
    return "lead:" + str(lead.get("id", lead.get("email", ""))).strip()


class Checker:
    """Collects the located problems of one document; checks templates and token names."""

    def __init__(self, doc: Document, policy: Policy | None = None) -> None:
        self.doc = doc
        self.policy = policy or Policy()
        self.problems: list[Problem] = []

    def error(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        self.problems.append(located(self.doc, path, message, key=key))

    def warn(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        p = located(self.doc, path, message, key=key)
        self.problems.append(
            Problem(
                file=p.file,
                line=p.line,
                column=p.column,
                path=p.path,
                message=p.message,
                severity="warning",
            )
        )

    def check_template(self, path: JsonPath, text: str) -> None:
        is_when = path[-1] == "when" and len(path) == 3
        outcome = _template_outcome(text, is_when)
        if outcome.syntax_line is not None:
            mark = self.doc.where(path)
            line = mark.line + (1 if mark.block else 0) + outcome.syntax_line - 1
            self.problems.append(
                Problem(
                    file=self.doc.file,
                    line=line,
                    column=mark.column if line == mark.line else 1,
                    path=dotted(path),
                    message=outcome.message,
                )
            )
        elif outcome.message:
            self.error(path, outcome.message)

    def check_tokens(self, section: dict[str, Any], path: JsonPath) -> None:
        seen: dict[str, str] = {}
        for name in _mapping(section.get("tokens")):
            try:
                normal = normalise_token_name(name)
            except ValueError:
                continue  # the schema already reported it
            if normal in seen:
                self.error(
                    (*path, "tokens", name),
                    f"token {normal} is also written as '{seen[normal]}'",
                    key=True,
                )
            seen[normal] = name


@dataclass(frozen=True)
class _Outcome:
    """What checking one template text found: a syntax error on a template line, or not."""

    message: str = ""  # "" when the template is fine
    syntax_line: int | None = None  # the template's own line (1-based) of a syntax error


@functools.lru_cache(maxsize=65_536)
def _template_outcome(text: str, is_when: bool) -> _Outcome:
    """Check one template text, once per process (aliases repeat texts thousands of times)."""
    source = as_condition(text) if is_when else text
    entry = compiled(source)  # unknown filters and tests are found only when compiling
    if entry.error is not None:
        exc = entry.error
        if is_when and not is_braced(text):
            message = (
                f"not an expression ({exc.message}); write a condition such as "
                "row.status == 'registered'"
            )
        else:
            message = template_problem(exc, make_environment())
        return _Outcome(message=message, syntax_line=exc.lineno or 1)
    assert entry.tree is not None
    if is_when:
        why = constant_when(entry.tree, text)
        if why is not None:
            return _Outcome(message=f"this condition is constant: {why}")
    unknown = sorted(entry.undeclared - CONTEXT_NAMES)
    if unknown:
        names = ", ".join(f"'{n}'" for n in unknown)
        allowed = ", ".join(sorted(CONTEXT_NAMES))
        hint = ""
        if len(unknown) == 1 and unknown[0] not in make_environment().globals:
            hint = f" (did you mean 'row.{unknown[0]}'?)"
        return _Outcome(
            message=f"unknown name {names} in template; templates can use {allowed}{hint}"
        )
    return _Outcome()


def template_problem(exc: Exception, env: Any) -> str:
    """A template's compile error in plain words: ``unknown filter 'upcase' (did you mean 'upper'?)``."""
    message = str(getattr(exc, "message", None) or exc)
    for kind, names in (("filter", env.filters), ("test", env.tests)):
        match = re.match(rf"No {kind} named '([^']*)'", message)
        if match:
            return f"unknown {kind} '{match.group(1)}'{did_you_mean(match.group(1), list(names))}"
    return f"template syntax error: {message}"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
