"""A project on disk, as a test states it: ``campaigns.yaml`` and the data files beside it.

A test names what it needs (sources, campaigns, schedules, environments, the ledger URL,
other top-level settings, the files) and ``write_project`` writes them in the house's
layout: the keys in the order given, mappings in blocks, a ``flow(...)`` mapping on one
line (``{type: csv, path: regs.csv}``), templates in double quotes.  What a test must say
in YAML itself (a continuation of the last campaign, a comment, a mistake) goes in
``extra``, appended as written.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> path = write_project(
...     folder,
...     sources={"regs": csv_source("regs.csv")},
...     campaigns={"reminder": {"campaign_id": 1234, "source": "regs", "lead": LEAD_BY_EMAIL}},
...     files={"regs.csv": csv_text([{"email": "ann@example.com"}])},
... )
>>> print(path.read_text(encoding="utf-8"), end="")
version: 1
sources:
  regs: {type: csv, path: regs.csv}
campaigns:
  reminder:
    campaign_id: 1234
    source: regs
    lead: {email: "{{ row.email }}"}
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "LEAD_BY_EMAIL",
    "MARKETO_FROM_ENV",
    "Flow",
    "csv_source",
    "csv_text",
    "flow",
    "project_yaml",
    "to_yaml",
    "write_file",
    "write_project",
]


class Flow(dict[str, Any]):
    """A mapping written on one line: ``{type: csv, path: regs.csv}``."""


def flow(**entries: Any) -> Flow:
    return Flow(entries)


def csv_source(path: str, **settings: Any) -> Flow:
    """``{type: csv, path: ...}``, plus whatever else the source declares."""
    return flow(type="csv", path=path, **settings)


# The lead most campaigns name, and Marketo credentials taken from the environment.
LEAD_BY_EMAIL = flow(email="{{ row.email }}")
MARKETO_FROM_ENV: Mapping[str, str] = {
    "base_url": "${MARKETO_BASE_URL}",
    "client_id": "${MARKETO_CLIENT_ID}",
    "client_secret": "${MARKETO_CLIENT_SECRET}",
}


def write_project(
    folder: Path,
    *,
    campaigns: Mapping[str, Mapping[str, Any]] | None = None,
    sources: Mapping[str, Any] | None = None,
    schedules: Mapping[str, Mapping[str, Any]] | None = None,
    environments: Mapping[str, Mapping[str, Any]] | None = None,
    ledger: str | None = None,
    marketo: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    extra: str = "",
    files: Mapping[str, str | bytes] | None = None,
    name: str = "campaigns.yaml",
) -> Path:
    """Write ``folder/name`` and ``files`` (paths relative to ``folder``); return the config's
    path.  ``settings`` are other top-level keys (``max_calls``, ``timezone`` ...)."""
    for relative, content in (files or {}).items():
        write_file(folder / relative, content)
    path = folder / name
    text = project_yaml(
        campaigns=campaigns,
        sources=sources,
        schedules=schedules,
        environments=environments,
        ledger=ledger,
        marketo=marketo,
        settings=settings,
        extra=extra,
    )
    write_file(path, text)
    return path


def project_yaml(
    *,
    campaigns: Mapping[str, Mapping[str, Any]] | None = None,
    sources: Mapping[str, Any] | None = None,
    schedules: Mapping[str, Mapping[str, Any]] | None = None,
    environments: Mapping[str, Mapping[str, Any]] | None = None,
    ledger: str | None = None,
    marketo: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    extra: str = "",
) -> str:
    """The text ``write_project`` writes: version, marketo, ledger, the settings, sources,
    campaigns, schedules, environments, then ``extra`` as written."""
    document: dict[str, Any] = {"version": 1}
    if marketo is not None:
        document["marketo"] = marketo
    if ledger is not None:
        document["ledger"] = ledger
    document.update(settings or {})
    for key, section in (
        ("sources", sources),
        ("campaigns", campaigns),
        ("schedules", schedules),
        ("environments", environments),
    ):
        if section is not None:
            document[key] = section
    return to_yaml(document) + extra


def write_file(path: Path, content: str | bytes) -> None:
    """``content`` exactly as given (no newline translation), parents made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(content)


def csv_text(
    rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
    columns: Sequence[str] | None = None,
) -> str:
    """A CSV file's text as Python's csv module writes it (``\\r\\n`` line ends): a header
    of ``columns`` (else the first mapping's keys), then the rows.  Rows that are sequences
    are written as they are, after ``columns`` when it is given."""
    out = io.StringIO()
    if rows and not isinstance(rows[0], Mapping):
        writer = csv.writer(out)
        if columns is not None:
            writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue()
    mappings: Sequence[Mapping[str, Any]] = rows  # type: ignore[assignment]
    header = list(columns) if columns is not None else list(mappings[0])
    dict_writer = csv.DictWriter(out, fieldnames=header)
    dict_writer.writeheader()
    dict_writer.writerows(mappings)
    return out.getvalue()


# -- the YAML writer: a small emitter for the house's layout ---------------------------------

_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_PLAIN = re.compile(r"[A-Za-z0-9_$./][^\n]*")
_FLOW_INDICATORS = set(",[]{}")
# Line breaks and tabs YAML would fold or trim inside quotes: written as escapes.
_LINE_BREAKS = {
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def to_yaml(value: Mapping[str, Any], indent: int = 0) -> str:
    """A mapping as block YAML lines at ``indent`` spaces; ``Flow`` values on one line."""
    lines = []
    pad = " " * indent
    for key, item in value.items():
        label = f"{pad}{_scalar(key, in_flow=False)}:"
        if not isinstance(item, Mapping | list | tuple):
            lines.append(f"{label} {_scalar(item, in_flow=False)}\n")
        elif isinstance(item, Flow) or not item:
            lines.append(f"{label} {_inline(item)}\n")
        elif isinstance(item, Mapping):
            lines.append(f"{label}\n{to_yaml(item, indent + 2)}")
        else:
            lines.append(f"{label}\n{_sequence(item, indent + 2)}")
    return "".join(lines)


def _sequence(items: Sequence[Any], indent: int) -> str:
    pad = " " * indent
    lines = []
    for item in items:
        if isinstance(item, Mapping) and not isinstance(item, Flow) and item:
            block = to_yaml(item, indent + 2)
            lines.append(f"{pad}- {block[indent + 2 :]}")
        elif isinstance(item, Mapping | list | tuple):
            lines.append(f"{pad}- {_inline(item)}\n")
        else:
            lines.append(f"{pad}- {_scalar(item, in_flow=False)}\n")
    return "".join(lines)


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        entries = (f"{_scalar(k, in_flow=True)}: {_inline(v)}" for k, v in value.items())
        return "{" + ", ".join(entries) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return _scalar(value, in_flow=True)


def _scalar(value: Any, *, in_flow: bool) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return _float(value)
    text = str(value)
    if _plain(text, in_flow=in_flow):
        return text
    return _double_quoted(text)


def _float(value: float) -> str:
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    # YAML 1.1 reads a float only with a dot in it: 1e-09 is written 1.0e-09.
    return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text


def _plain(text: str, *, in_flow: bool) -> bool:
    """Whether ``text`` reads back as itself, a string, when written without quotes."""
    if not _PLAIN.fullmatch(text) or text != text.strip() or ": " in text or " #" in text:
        return False
    if text.endswith(":") or (in_flow and _FLOW_INDICATORS & set(text)):
        return False
    if any(mark in text for mark in ("{{", "{%", "{#")):
        return False  # a template: in double quotes, as the docs write them
    try:
        document = f"{{k: {text}}}" if in_flow else f"k: {text}"
        return bool(yaml.safe_load(document) == {"k": text})
    except yaml.YAMLError:
        return False


def _double_quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    for char, escape_sequence in _LINE_BREAKS.items():
        escaped = escaped.replace(char, escape_sequence)

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return (
            f"\\x{code:02x}"
            if code < 0x100
            else f"\\u{code:04x}"
            if code < 0x10000
            else f"\\U{code:08x}"
        )

    return '"' + _NOT_PRINTABLE.sub(escape, escaped) + '"'
