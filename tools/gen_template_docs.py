"""Writes docs/templates.md: every name, filter and test a template can use, with an example.

The names come from the sandbox itself (``mktsync.sandbox``: ``CONTEXT_NAMES``,
``SAFE_GLOBALS``, the environment's filters and tests); this file only adds a sentence
and an example for each, and every example is rendered by the real sandbox, so the
output shown is the output users get::

    python tools/gen_template_docs.py            # rewrite docs/templates.md
    python tools/gen_template_docs.py --check    # exit 1 if it is out of date or incomplete

``tests/render/test_template_docs.py`` runs the check: a filter added to the sandbox
without a line here fails the suite.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from mktsync.dates import as_day, today_of
from mktsync.row import Row
from mktsync.sandbox import CONTEXT_NAMES, SAFE_GLOBALS, make_environment

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "templates.md"

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
ROW = Row(
    email="Ada@Example.com",
    first_name="ada",
    status="registered",
    days_left=3,
    trial_end=as_day(datetime(2026, 12, 4)),
    signed_up="2026-11-01T09:00:00Z",
    ends="04/12/2026",
    title="Scaling <Ops> & Git",
    tags=["vip", "beta"],
    price=1234.5,
    seats=3,
    notes="  first line\nsecond line  ",
)

# name: (what it does, example template)
NAMES = {
    "row": (
        "The source row: `row.col`, `row['col name']`, `row.get('col', default)`.",
        "{{ row.first_name }}",
    ),
    "now": (
        "The run's instant as an aware datetime in the config's `timezone:` (default UTC): "
        "the clock when the run starts, or `--now` / `MKTSYNC_NOW`, or a saved plan's own; "
        "one value for the whole run.",
        "{{ now.isoformat() }}",
    ),
    "today": (
        "`now`'s date in the config's `timezone:` (default UTC): at 23:30 on Dec 5 in "
        "New York it is Dec 5, whatever UTC says. A date minus a date is a whole number of days.",
        "{{ row.trial_end - today }}",
    ),
}
GLOBALS = {
    "range": ("Jinja's `range`: a sequence of numbers.", "{{ range(3) | list }}"),
    "dict": ("Builds a mapping from keyword arguments.", "{{ dict(a=1)['a'] }}"),
    "cycler": (
        "Cycles through values (in loops).",
        "{% set c = cycler('x', 'y') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}",
    ),
    "joiner": (
        "Returns its text on every call but the first.",
        "{% set j = joiner(', ') %}{% for t in row.tags %}{{ j() }}{{ t }}{% endfor %}",
    ),
    "namespace": (
        "A mutable holder for values set inside loops.",
        "{% set ns = namespace(n=0) %}{% for t in row.tags %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
    ),
}
FILTERS = {
    "abs": ("Absolute value of a number.", "{{ -3 | abs }}"),
    "add_days": (
        "A date (or datetime, or ISO 8601 text) `n` days later; negative goes back.",
        "{{ today | add_days(3) }}",
    ),
    "attr": (
        "An attribute by name (the sandbox refuses private ones).",
        "{{ today | attr('year') }}",
    ),
    "batch": ("Splits a list into lists of `n` items.", "{{ row.tags | batch(1) | list }}"),
    "capitalize": (
        "First character upper case, the rest lower case.",
        "{{ row.first_name | capitalize }}",
    ),
    "center": ("Centers text in a field of the given width.", "[{{ 'ab' | center(6) }}]"),
    "count": ("Alias of `length`.", "{{ row.tags | count }}"),
    "d": ("Alias of `default`.", "{{ row.get('nickname') | d('friend', true) }}"),
    "date": (
        "Formats a date, datetime or ISO 8601 text with a `strftime` format (default `%Y-%m-%d`).",
        "{{ row.signed_up | date('%d %B %Y') }}",
    ),
    "days_until": (
        "Whole days from the value to the given date (negative when it is past).",
        "{{ today | days_until(row.trial_end) }}",
    ),
    "default": (
        "A fallback when the value is undefined (or, with `true`, empty).",
        "{{ row.get('nickname') | default('friend', true) }}",
    ),
    "dictsort": ("A mapping's items sorted by key.", "{{ dict(b=2, a=1) | dictsort }}"),
    "e": ("Alias of `escape`.", "{{ row.title | e }}"),
    "escape": (
        "HTML-escapes text (a Markup value; use `html` for a plain string).",
        "{{ row.title | escape }}",
    ),
    "filesizeformat": ("A number of bytes in human units.", "{{ 1234567 | filesizeformat }}"),
    "first": ("The first item of a sequence.", "{{ row.tags | first }}"),
    "float": ("Converts to a float (0.0 when it cannot).", "{{ '2.50' | float }}"),
    "forceescape": ("HTML-escapes even Markup values.", "{{ row.title | forceescape }}"),
    "format": (
        "printf-style formatting.",
        "{{ '%s has %d seats' | format(row.first_name, row.seats) }}",
    ),
    "groupby": (
        "Groups a list of mappings by an attribute.",
        "{{ [dict(k='a'), dict(k='a')] | groupby('k') | map('first') | list }}",
    ),
    "html": (
        "Escapes `& < > \" '` and returns plain text, for HTML tokens.",
        "{{ row.title | html }}",
    ),
    "indent": (
        "Indents every line but the first (by default) by `n` spaces.",
        "{{ 'a\\nb' | indent(2) }}",
    ),
    "int": ("Converts to an integer (0 when it cannot).", "{{ '42' | int + 1 }}"),
    "items": ("A mapping's (key, value) pairs.", "{{ dict(a=1) | items | list }}"),
    "join": ("Joins a sequence into text with a separator.", "{{ row.tags | join(', ') }}"),
    "last": ("The last item of a sequence.", "{{ row.tags | last }}"),
    "length": ("Number of items (or characters).", "{{ row.tags | length }}"),
    "list": ("Converts to a list.", "{{ 'abc' | list }}"),
    "lower": ("Lower case.", "{{ row.email | lower }}"),
    "map": (
        "Applies a filter (or reads an attribute) for each item.",
        "{{ row.tags | map('upper') | join(',') }}",
    ),
    "max": ("The largest item.", "{{ [3, 7, 5] | max }}"),
    "min": ("The smallest item.", "{{ [3, 7, 5] | min }}"),
    "pprint": ("A debugging representation.", "{{ row.tags | pprint }}"),
    "reject": ("Items for which a test fails.", "{{ [1, 2, 3] | reject('odd') | list }}"),
    "rejectattr": (
        "Items whose attribute fails a test.",
        "{{ [dict(a=1), dict(a=2)] | rejectattr('a', 'odd') | list }}",
    ),
    "replace": (
        "Replaces every occurrence of a text.",
        "{{ row.status | replace('registered', 'booked') }}",
    ),
    "reverse": ("Reverses text or a sequence.", "{{ row.tags | reverse | join(',') }}"),
    "round": (
        "Rounds a number (`common`, `ceil` or `floor`).",
        "{{ row.price | round(0, 'floor') }}",
    ),
    "safe": (
        "Marks text as safe HTML (autoescape is off, so it changes nothing visible).",
        "{{ row.title | safe }}",
    ),
    "select": ("Items for which a test passes.", "{{ [1, 2, 3] | select('odd') | list }}"),
    "selectattr": (
        "Items whose attribute passes a test.",
        "{{ [dict(a=1), dict(a=2)] | selectattr('a', 'odd') | list }}",
    ),
    "slice": ("Splits a sequence into `n` slices.", "{{ [1, 2, 3] | slice(2) | list }}"),
    "sort": ("Sorts a sequence.", "{{ row.tags | sort | join(',') }}"),
    "string": ("Converts to text.", "{{ row.seats | string }}"),
    "striptags": (
        "Removes HTML tags and collapses whitespace.",
        "{{ '<b>Hi</b>  there' | striptags }}",
    ),
    "sum": ("Adds the items up.", "{{ [1, 2, 3] | sum }}"),
    "title": ("Title Case.", "{{ 'scaling ops' | title }}"),
    "to_date": (
        "A date from ISO 8601 text, or from text in the given `strptime` format.",
        "{{ row.ends | to_date('%d/%m/%Y') }}",
    ),
    "to_datetime": (
        "An aware datetime from ISO 8601 text (UTC when no zone is given) or a format.",
        "{{ row.signed_up | to_datetime }}",
    ),
    "tojson": ("JSON text (HTML-safe).", "{{ row.tags | tojson }}"),
    "trim": (
        "Strips whitespace at both ends (or the given characters).",
        "[{{ row.notes | trim }}]",
    ),
    "truncate": ("Shortens text to a length, ending with `...`.", "{{ row.title | truncate(12) }}"),
    "unique": ("Removes duplicates.", "{{ ['a', 'A', 'b'] | unique | list }}"),
    "upper": ("Upper case.", "{{ row.first_name | upper }}"),
    "urlencode": ("Percent-encodes text for a URL.", "{{ row.title | urlencode }}"),
    "urlize": ("Turns URLs in text into links.", "{{ 'see https://example.com' | urlize }}"),
    "wordcount": ("Number of words.", "{{ row.title | wordcount }}"),
    "wordwrap": ("Wraps text at a width.", "{{ 'one two three' | wordwrap(7) }}"),
    "xmlattr": ("Builds HTML attributes from a mapping.", "<a{{ dict(href='/x') | xmlattr }}>"),
}
TESTS = {
    "!=": ("Alias of `ne`, for `select`/`reject`.", "{{ row.tags | select('!=', 'vip') | list }}"),
    "<": ("Alias of `lt`, for `select`/`reject`.", "{{ [1, 3, 5] | select('<', 3) | list }}"),
    "<=": ("Alias of `le`, for `select`/`reject`.", "{{ [1, 3, 5] | select('<=', 3) | list }}"),
    "==": ("Alias of `eq`, for `select`/`reject`.", "{{ row.tags | select('==', 'vip') | list }}"),
    ">": ("Alias of `gt`, for `select`/`reject`.", "{{ [1, 3, 5] | select('>', 3) | list }}"),
    ">=": ("Alias of `ge`, for `select`/`reject`.", "{{ [1, 3, 5] | select('>=', 3) | list }}"),
    "boolean": ("The value is `true` or `false`.", "{{ row.status is boolean }}"),
    "callable": ("The value can be called.", "{{ row.get is callable }}"),
    "defined": ("The name or column exists.", "{{ row.nickname is defined }}"),
    "divisibleby": ("Divisible by the given number.", "{{ row.seats is divisibleby 3 }}"),
    "eq": ("Equal to.", "{{ row.status is eq 'registered' }}"),
    "equalto": ("Alias of `eq`.", "{{ row.seats is equalto 3 }}"),
    "escaped": ("The value is already escaped Markup.", "{{ row.title is escaped }}"),
    "even": ("An even number.", "{{ row.seats is even }}"),
    "false": ("The value is `false`.", "{{ (row.seats > 5) is false }}"),
    "filter": ("A filter of this name exists.", "{{ 'add_days' is filter }}"),
    "float": ("A float.", "{{ row.price is float }}"),
    "ge": ("Greater than or equal to.", "{{ row.days_left is ge 3 }}"),
    "greaterthan": ("Alias of `gt`.", "{{ row.days_left is greaterthan 2 }}"),
    "gt": ("Greater than.", "{{ row.days_left is gt 2 }}"),
    "in": ("Contained in a sequence.", "{{ row.status is in ['registered', 'attended'] }}"),
    "integer": ("An integer.", "{{ row.days_left is integer }}"),
    "iterable": ("Can be iterated.", "{{ row.tags is iterable }}"),
    "le": ("Less than or equal to.", "{{ row.days_left is le 3 }}"),
    "lessthan": ("Alias of `lt`.", "{{ row.days_left is lessthan 5 }}"),
    "lower": ("Text all in lower case.", "{{ row.status is lower }}"),
    "lt": ("Less than.", "{{ row.days_left is lt 5 }}"),
    "mapping": ("A mapping (such as `row`).", "{{ row is mapping }}"),
    "ne": ("Not equal to.", "{{ row.status is ne 'cancelled' }}"),
    "none": ("The value is `none`.", "{{ row.get('nickname') is none }}"),
    "number": ("A number.", "{{ row.price is number }}"),
    "odd": ("An odd number.", "{{ row.seats is odd }}"),
    "sameas": ("The same object as (`is` in Python).", "{{ none is sameas none }}"),
    "sequence": ("A sequence (text, list...).", "{{ row.tags is sequence }}"),
    "string": ("Text.", "{{ row.email is string }}"),
    "test": ("A test of this name exists.", "{{ 'odd' is test }}"),
    "true": ("The value is `true`.", "{{ (row.seats > 1) is true }}"),
    "undefined": ("The name or column does not exist.", "{{ row.nickname is undefined }}"),
    "upper": ("Text all in upper case.", "{{ row.status is upper }}"),
}

HEADER = """\
<!-- Generated by tools/gen_template_docs.py from the sandbox's own registries.
     Do not edit by hand: run `python tools/gen_template_docs.py`. -->
# Templates

Every `when`, `key`, `lead` and token value in `campaigns.yaml` is a
[Jinja](https://jinja.palletsprojects.com/) template rendered in a sandbox, once per row.
A template sees only the names below; anything else (environment variables, files,
private attributes) is out of reach, and an unknown name or a missing column is an error
(`validate` finds most of them before anything runs).

`when` is an expression, as Ansible's `when:` is: write `when: row.status == 'registered'`
(the braced form `"{{ row.status == 'registered' }}"` works too). A `when` that is the
same for every row (a literal, a plain word, no `row` field) is refused by `validate`.

Without `columns:` on its source, a CSV cell is text: compare `row.days_left == '3'`, or
declare `days_left: integer` (see [configuration](configuration.md)) and write
`row.days_left == 3`. Declared `date` columns, `today` and `to_date` give dates whose
difference is a whole number of days.

The examples below run on this row, with `now` = {now}:

```
{row}
```
"""


def _render(template: str) -> str:
    env = make_environment()
    out = env.from_string(template).render(row=ROW, now=NOW, today=today_of(NOW))
    return out.replace("\n", "\\n")


def _table(title: str, entries: dict[str, tuple[str, str]], intro: str) -> list[str]:
    lines = [
        f"## {title}",
        "",
        intro,
        "",
        "| name | what it does | example | gives |",
        "| --- | --- | --- | --- |",
    ]
    for name in sorted(entries):
        text, example = entries[name]
        shown = example.replace("|", "\\|")
        result = _render(example).replace("|", "\\|")
        lines.append(f"| `{name}` | {text} | `{shown}` | `{result}` |")
    return [*lines, ""]


def missing() -> list[str]:
    """Names the sandbox offers that this file does not document (and stale entries)."""
    env = make_environment()
    problems = []
    for kind, registered, documented in (
        ("name", set(CONTEXT_NAMES), set(NAMES)),
        ("global", set(SAFE_GLOBALS), set(GLOBALS)),
        ("filter", set(env.filters), set(FILTERS)),
        ("test", set(env.tests), set(TESTS)),
    ):
        problems += [f"undocumented {kind}: {n}" for n in sorted(registered - documented)]
        problems += [
            f"documented {kind} that does not exist: {n}" for n in sorted(documented - registered)
        ]
    return problems


def _shown(value: object) -> str:
    return f"date {value}" if isinstance(value, date) else repr(value)


def render() -> str:
    row = ", ".join(f"{k}: {_shown(v)}" for k, v in ROW.items())
    lines = [HEADER.format(now=NOW.isoformat(), row="row = {" + row + "}")]
    lines += _table("Names", NAMES, "What a template sees besides literals.")
    lines += _table(
        "Globals", GLOBALS, "Jinja's safe globals (`lipsum` is removed: it would change every run)."
    )
    lines += _table("Filters", FILTERS, "Used as `value | name(arguments)`.")
    lines += _table("Tests", TESTS, "Used as `value is name` or `value is name(argument)`.")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/templates.md is stale")
    args = parser.parse_args(argv)
    problems = missing()
    if problems:
        sys.stderr.write("".join(f"{p}\n" for p in problems))
        return 1
    text = render()
    if args.check:
        if TARGET.read_text(encoding="utf-8") != text:
            sys.stderr.write(
                f"{TARGET.relative_to(ROOT)} is out of date: run python tools/gen_template_docs.py\n"
            )
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET.relative_to(ROOT)} ({len(text)} bytes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
