from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from render_testing import one

from mktsync.items import InvalidItem, Item
from mktsync.render import CONTEXT_NAMES, make_environment

ROW = {"email": "a@example.com", "name": "Zoë"}


def token(template: str, row: dict[str, object] | None = None) -> InvalidItem | Item:
    result = one(row or ROW, tokens={"X": template})
    assert isinstance(result, InvalidItem | Item)
    return result


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe"),
        (
            "{{ cycler.__init__.__globals__ }}",
            "access to attribute '__init__' of 'type' object is unsafe",
        ),
        (
            "{{ joiner.__init__.__globals__ }}",
            "access to attribute '__init__' of 'type' object is unsafe",
        ),
        (
            "{{ namespace.__init__.__globals__.os }}",
            "access to attribute '__init__' of 'type' object is unsafe",
        ),
        (
            "{{ self._TemplateReference__context }}",
            "access to attribute '_TemplateReference__context' of 'TemplateReference' object is unsafe",
        ),
        ("{{ lipsum.__globals__ }}", "'lipsum' is undefined"),
        ("{{ range.__self__ }}", "'function object' has no attribute '__self__'"),
        (
            "{{ row.__class__.__init__ }}",
            "access to attribute '__class__' of 'Row' object is unsafe",
        ),
        ("{{ now.__class__ }}", "access to attribute '__class__' of 'datetime' object is unsafe"),
        (
            "{{ row.email.__class__.__base__.__subclasses__() }}",
            "access to attribute '__class__' of 'str' object is unsafe",
        ),
        (
            "{{ '{0.__class__}'.format(row) }}",
            "access to attribute '__class__' of 'Row' object is unsafe",
        ),
        (
            "{{ row.update({'email': 'x'}) }}",
            "access to attribute 'update' of 'Row' object is unsafe",
        ),
        ("{{ config }}", "'config' is undefined"),
        ("{{ request.environ }}", "'request' is undefined"),
        ("{{ 'x' * 100000000 }}", "the sandbox refuses results over 1000000 items"),
        ("{{ 2 ** 1000000 }}", "the sandbox refuses a power this large"),
        (
            "{{ range(10000000) | list }}",
            "range() of 10,000,000 items is over the sandbox's 10,000",
        ),
    ],
)
def test_injection_payloads_are_invalid_items(payload: str, reason: str) -> None:
    result = token(payload)
    assert isinstance(result, InvalidItem)
    assert result.reason == f"tokens.{{{{my.X}}}}: {reason}"


PROBES = [
    "{{ environ }}",
    "{{ os.environ }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ row.__class__.__init__.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__['os'].environ }}",
    "{{ dict.__init__.__globals__ }}",
    "{{ range.__globals__ }}",
    "{{ now.tzinfo.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for k in row %}{{ k }}{% endfor %}{{ dict() }}{{ range(3) | list }}{{ now }}",
]


@pytest.mark.parametrize("probe", PROBES)
def test_no_environment_variable_is_reachable(monkeypatch: pytest.MonkeyPatch, probe: str) -> None:
    monkeypatch.setenv("MKTSYNC_PROBE_SECRET", "hunter2-canary")
    result = token(probe)
    assert "hunter2-canary" not in repr(result)
    if isinstance(result, Item):  # only the harmless last probe renders
        assert probe == PROBES[-1]


def test_context_and_globals() -> None:
    env = make_environment()
    assert frozenset({"row", "now", "today"}) == CONTEXT_NAMES
    assert set(env.globals) == {"range", "dict", "cycler", "joiner", "namespace"}
    assert env.autoescape is False
    # cycler, joiner and namespace are kept: they help build lists inside a token.
    text = "{% set j = joiner(', ') %}{% for x in ['a', 'b'] %}{{ j() }}{{ x }}{% endfor %}"
    assert env.from_string(text).render() == "a, b"


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (datetime(2026, 12, 10, 17, 30, tzinfo=UTC), "%d %b %Y %H:%M", "10 Dec 2026 17:30"),
        (date(2026, 12, 10), "%A", "Thursday"),
        ("2026-12-10", "%d/%m/%Y", "10/12/2026"),
        ("2026-11-01T09:00:00Z", "%H:%M %Z", "09:00 UTC"),
        (" 2026-11-01T09:00:00+02:00 ", "%H:%M %z", "09:00 +0200"),
    ],
)
def test_date_filter(value: object, fmt: str, expected: str) -> None:
    env = make_environment()
    assert env.from_string("{{ v | date(fmt) }}").render(v=value, fmt=fmt) == expected


def test_date_filter_default_format_and_errors() -> None:
    assert token("{{ '2026-12-10T08:00:00' | date }}").tokens == (("{{my.X}}", "2026-12-10"),)  # type: ignore[union-attr]
    bad = token("{{ row.name | date }}")
    assert isinstance(bad, InvalidItem)
    assert bad.reason == "tokens.{{my.X}}: date: 'Zoë' is not an ISO 8601 date or datetime"
    bad = token("{{ 5 | date }}")
    assert isinstance(bad, InvalidItem)
    assert (
        bad.reason == "tokens.{{my.X}}: date: expected a date, datetime or ISO 8601 string, got int"
    )


def test_html_and_urlencode_filters() -> None:
    row = {"email": "a@example.com", "t": "Tom & Jerry <b>\"'", "q": "Zoë & co/x=1 2"}
    result = one(
        row, tokens={"H": "{{ row.t | html }}", "U": "https://x.io/?q={{ row.q | urlencode }}"}
    )
    assert isinstance(result, Item)
    assert dict(result.tokens) == {
        "{{my.H}}": "Tom &amp; Jerry &lt;b&gt;&#34;&#39;",
        "{{my.U}}": "https://x.io/?q=Zo%C3%AB%20%26%20co/x%3D1%202",
    }


def test_autoescape_is_off() -> None:
    result = token("{{ row.name }} <b>&</b> {{ '<i>' }}")
    assert isinstance(result, Item)
    assert result.tokens == (("{{my.X}}", "Zoë <b>&</b> <i>"),)
