"""A campaign's templates compiled once per run, and its generated happy path.

>>> compiled = CompiledCampaign.build(campaign)                      # doctest: +SKIP
>>> compiled.happy(row, 12, now)      # an Item for row 12, None (filtered), or raises

``happy`` is one generated Python function for the common case: it renders every
template inline (fast-path expressions, or a call to Jinja for other shapes) and
raises :class:`Unusual` at the first thing it does not handle — an exception, an
empty or implausible value.  The caller then uses the per-template functions, which
name every failing field.  One function per campaign instead of one call per
template is what makes the whole row cost less than one Jinja render.

``for_header(header)`` is the same body reading a CSV record's cells by position
(``mktsync.sources.csv_.iter_records``), so no dict is built for rows that render
cleanly.  Both are tested against the careful path with hypothesis.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import CodeType
from typing import Any, TypeVar

from jinja2 import TemplateSyntaxError, nodes

from mktsync.config.compiled import compiled
from mktsync.config.model import Campaign, Template
from mktsync.config.reads import as_condition
from mktsync.errors import ConfigError, Problem
from mktsync.items import FilteredRow, Item
from mktsync.render import fast
from mktsync.row import Row
from mktsync.sources.columns import EMAIL

FALSE_RENDERINGS = frozenset({"", "False", "false", "0", "None"})

Happy = Callable[[Row, int, datetime], Item | None]
RecordHappy = Callable[[list[str], int, datetime], Item | None]  # cells in header order


class Unusual(Exception):
    """The happy path met something it does not handle; the careful path will."""


@dataclass(frozen=True, kw_only=True)
class CompiledCampaign:
    """A campaign's templates, compiled once per run (see the module docstring)."""

    campaign: Campaign
    when: fast.Render | None
    lead_id: fast.Render | None
    email: fast.Render | None
    key: fast.Render | None
    tokens: tuple[tuple[str, fast.Render], ...]  # sorted by name
    # Every lead field, sorted by name, each with its group: True for `fields:` (synced to
    # every lead: ``Item.synced``), False for create_missing's `lead.fields` (``create_fields``).
    fields: tuple[tuple[str, fast.Render, bool], ...]
    happy: Happy
    for_header: Callable[[Sequence[str]], RecordHappy | None]

    @classmethod
    def build(
        cls, campaign: Campaign, source: str | None = None, *, max_chars: int | None = None
    ) -> CompiledCampaign:
        """Compile every template; ``source`` names the rows' source in items (default
        ``campaign.source``).  With ``max_chars``, ``happy`` hands any item with a longer
        value (key, email, token, field) to the careful path, which ``oversized`` checks."""
        if campaign.when is not None:
            campaign = dataclasses.replace(campaign, when=condition(campaign.when))
        lead = campaign.lead
        tokens = sorted(((t.name, t.template) for t in campaign.tokens), key=_name)
        # The two groups of lead fields: `lead.fields` (create_missing: only for leads
        # created) and campaign `fields:` (synced to every lead before its trigger, and
        # recorded); validate refuses a name in both.  Rendered in name order either way.
        fields = sorted(
            (
                *((name, t, False) for name, t in (lead.fields if campaign.create_missing else ())),
                *((name, t, True) for name, t in campaign.fields),
            ),
            key=_name,
        )
        return cls(
            campaign=campaign,
            when=_compile(campaign.when),
            lead_id=_compile(lead.id),
            email=_compile(lead.email),
            key=_compile(campaign.key),
            tokens=tuple((name, compile_located(t)) for name, t in tokens),
            fields=tuple((name, compile_located(t), synced) for name, t, synced in fields),
            **_happy_paths(campaign, source or campaign.source, tokens, fields, max_chars),
        )


def condition(when: Template) -> Template:
    """The template a ``when`` stands for: a bare expression is ``{{ (expression) }}``
    (``config.reads.as_condition``), for campaigns and batch runs alike."""
    return dataclasses.replace(when, text=as_condition(when.text))


def filtered_by(text: str) -> bool:
    """Does a ``when`` that rendered ``text`` leave its row out?"""
    return text.strip() in FALSE_RENDERINGS


def _name(pair: tuple[Any, ...]) -> str:
    name: str = pair[0]
    return name


def _happy_paths(
    campaign: Campaign,
    source: str,
    tokens: list[tuple[str, Template]],
    fields: list[tuple[str, Template, bool]],
    max_chars: int | None = None,
) -> dict[str, Any]:
    """``happy`` over a Row, and ``for_header``: the same over a list of cells, when possible."""
    names: dict[str, Any] = {"_FALSE": FALSE_RENDERINGS, "_plausible": EMAIL.fullmatch}
    names |= {"_Unusual": Unusual, "_item": record_factory(Item), "_source": source}
    names |= {"_campaign": campaign.name, "_campaign_id": campaign.campaign_id}
    columns: dict[str, str] = {}  # each column read once per row, into a local variable

    def inline(template: Template) -> str:
        source = fast.python_source(_tree(template), names, columns)
        if source is None:  # not a fast shape: call the compiled Jinja template
            name = f"_r{len(names)}"
            names[name] = compile_located(template)
            return f"{name}(row, now)"
        return source

    lines = []
    if campaign.when is not None:
        condition = fast.python_condition(_tree(campaign.when), names, columns)
        if condition is not None:  # renders "True" or "False": test the bool itself
            lines += [f"    if not {condition}:", "        return None"]
        else:
            lines += [f"    if {inline(campaign.when)}.strip() in _FALSE:", "        return None"]
    if campaign.lead.id is not None:
        lines += [
            f"    text = {inline(campaign.lead.id)}.strip()",
            "    if not (text.isascii() and text.isdigit()) or int(text) <= 0:",
            "        raise _Unusual",
            "    the_id, the_email = int(text), None",
            "    key = 'id:' + str(the_id)",
        ]
    elif campaign.lead.email is not None:
        lines += [
            f"    the_id, the_email = None, {inline(campaign.lead.email)}.strip().lower()",
            "    if not _plausible(the_email):",
            "        raise _Unusual",
            "    key = the_email",
        ]
    else:
        lines += ["    raise _Unusual"]
    if campaign.key is not None:
        lines += [
            f"    key = {inline(campaign.key)}.strip()",
            "    if not key:",
            "        raise _Unusual",
        ]
    values = [inline(t) for _, t in tokens] + [inline(t) for _, t, _ in fields]
    if max_chars is not None:  # long values take the careful path (render.limits)
        names |= {"_max_chars": max_chars, "_len": len}  # generated code sees no builtins
        lines += [f"    _v{n} = {value}" for n, value in enumerate(values)]
        values = [f"_v{n}" for n in range(len(values))]
        long = [f"_len({v}) > _max_chars" for v in ("key", *values)]
        if campaign.lead.id is None and campaign.key is not None:
            long.append("_len(the_email) > _max_chars")
        lines += [f"    if {' or '.join(long)}:", "        raise _Unusual"]
    token_values = "".join(
        f"({name!r}, {v}), " for (name, _), v in zip(tokens, values[: len(tokens)], strict=True)
    )
    field_values = list(zip(fields, values[len(tokens) :], strict=True))
    synced = "".join(f"({name!r}, {v}), " for (name, _, s), v in field_values if s)
    create = "".join(f"({name!r}, {v}), " for (name, _, s), v in field_values if not s)
    lines += [
        "    return _item(_campaign, _campaign_id, key, the_id, the_email,"
        f" ({token_values}), _source, number, ({synced}), ({create}))"
    ]
    # Two entries over one body: `happy` reads every column with one subscript and, if
    # one is missing, hands over to `lazy`, which gives missing columns Jinja's lazy
    # Undefined (a try block costs nothing until it catches).
    eager = ", ".join(f"row[{column!r}]" for column in columns)
    local_names = ", ".join(columns.values())
    head = ["def happy(row, number, now):"]
    if columns:
        head += [
            "    try:",
            f"        {local_names}, = {eager},",
            "    except KeyError:",
            "        return lazy(row, number, now)",
        ]
    lazy = ["def lazy(row, number, now):"] + [
        f"    {local} = {fast.column_lookup(column)}" for column, local in columns.items()
    ]
    source = "\n".join(head + lines + lazy + lines) + "\n"
    namespace = _run(source, names)

    def for_header(header: Sequence[str]) -> RecordHappy | None:
        """The body over cells read by position: no dict per row, no lookups by name.

        Only when every column is in the header (else each row is invalid anyway) and
        every template is a fast shape (Jinja needs a Row).
        """
        if any(name.startswith("_r") for name in names) or not set(columns) <= set(header):
            return None
        position = {column: header.index(column) for column in columns}
        head = ["def happy(cells, number, now):"]
        if columns:
            cells = ", ".join(f"cells[{position[column]}]" for column in columns)
            head += [f"    {local_names}, = {cells},"]
        record_happy: RecordHappy = _run("\n".join(head + lines) + "\n", names)["happy"]
        return record_happy

    return {"happy": namespace["happy"], "for_header": for_header}


def _run(source: str, names: dict[str, Any]) -> dict[str, Any]:
    code = _code(source)
    namespace = fast.fast_globals(names)
    namespace |= {"int": int, "KeyError": KeyError}
    exec(code, namespace)
    return namespace


@functools.lru_cache(maxsize=4096)
def _code(source: str) -> CodeType:
    """Compiled once per distinct body: campaigns that differ only in the values bound in
    their namespace (name, id, long texts) share one code object (2,000 merged copies of
    one campaign compile one)."""
    return compile(source, "<mktsync campaign>", "exec")


Record = TypeVar("Record", Item, FilteredRow)


def record_factory(cls: type[Record]) -> Callable[..., Record]:
    """``cls(...)`` by position, about three times faster than the frozen dataclass's ``__init__``.

    A frozen dataclass sets each field through ``object.__setattr__`` behind a keyword
    call (~1 µs for an ``Item``, a fifth of a row's cost); the slots' own setters do the
    same work.  Used only while ``cls`` has slots and no ``__post_init__``; otherwise the
    real constructor runs, so a check added to ``mktsync.items`` is never skipped.  Fields
    with a default may be left out at the end, as with the constructor.
    """
    fields = dataclasses.fields(cls)
    names = tuple(f.name for f in fields)
    if "__slots__" not in cls.__dict__ or hasattr(cls, "__post_init__"):
        return lambda *values: cls(**dict(zip(names[: len(values)], values, strict=True)))
    # One generated function with the setters unrolled: a loop would cost half the gain.
    namespace: dict[str, Any] = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    namespace |= {"_new": object.__new__, "_cls": cls, "__builtins__": {}}
    namespace |= {f"_d_{f.name}": f.default for f in fields if f.default is not dataclasses.MISSING}
    params = ", ".join(f"{n}=_d_{n}" if f"_d_{n}" in namespace else n for n in names)
    body = "".join(f"    _set_{n}(record, {n})\n" for n in names)
    source = f"def make({params}):\n    record = _new(_cls)\n{body}    return record\n"
    exec(compile(source, f"<mktsync {cls.__name__} factory>", "exec"), namespace)
    make: Callable[..., Record] = namespace["make"]
    return make


def _tree(template: Template) -> nodes.Template:
    """The template's parsed tree, shared through ``config.compiled`` (read, never changed)."""
    entry = compiled(str(template.text))
    if entry.error is not None or entry.tree is None:
        compile_located(template)  # raises the located error (validate reported it)
    assert entry.tree is not None
    return entry.tree


def _compile(template: Template | None) -> fast.Render | None:
    return None if template is None else compile_located(template)


def compile_located(template: Template) -> fast.Render:
    """The template's function (``fast.compile_template``); a syntax error is a
    ``ConfigError`` at the template's line."""
    try:
        return fast.compile_template(str(template.text))
    except TemplateSyntaxError as exc:
        # `validate` reports these with their exact line; this is for records built in code.
        raise ConfigError(
            [
                Problem(
                    file=template.position.file,
                    line=template.position.line,
                    column=template.position.column,
                    path=template.field,
                    message=f"template syntax error: {exc.message}",
                )
            ]
        ) from None
