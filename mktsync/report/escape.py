"""Values from data, made safe to paste into GitHub Markdown: always literal text.

A pull-request comment is read as the truth about a change, so a value from a CSV cell must
not be able to draw an image, a link, a table column or a mention in it.  Every data value
goes out as a code span: inside one, CommonMark and GFM interpret no HTML, emphasis, links,
autolinks or @mentions.  What a code span cannot hold is handled here:

- a backtick run inside the value: the fence is one backtick longer than the longest run,
  padded with a space when the value starts or ends with a backtick (CommonMark 6.1);
- a newline: a code span would end at a blank line; newlines become ``⏎``;
- a character that draws nothing or reorders the text (a bidi control such as U+202E, a
  zero-width space, any control or format character): shown escaped, ``\\u202e``, by
  ``errors.one_line``, the one rule every text and Markdown writer follows (``visible``);
- ``|`` in a table cell: GFM splits cells before inline parsing, even inside code spans,
  so it is written ``\\|`` (which GFM reads back as ``|`` inside the span);
- length: values are cut to ``width`` characters (as shown, never inside an escape) with
  an ellipsis, so one 10 KB cell cannot fill the comment.

Whole outputs go through ``visible`` (Markdown) or ``terminal`` (text) as they are written,
so a value that reaches a writer some other way is escaped all the same.

>>> literal("<img src=x>")
'`<img src=x>`'
>>> literal("a|b", cell=True)
'`a\\\\|b`'
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from mktsync.errors import one_line

VALUE_WIDTH = 200
_TICKS = re.compile(r"`+")
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029")


def shown(text: str, width: int) -> str:
    """``text`` escaped (``one_line``) and cut to ``width`` characters with an ellipsis;
    the cut never falls inside an escape."""
    escaped = one_line(text)
    if len(escaped) <= width:
        return escaped
    parts, size = [], 0
    for char in text:
        part = one_line(char)
        if size + len(part) > width - 1:
            break
        parts.append(part)
        size += len(part)
    return "".join(parts) + "…"


def visible(text: str) -> str:
    """A whole Markdown output with nothing hidden in it: each line through ``one_line``.

    Our own Markdown holds no control or format character, so only data is changed."""
    return "\n".join(one_line(line) for line in text.split("\n"))


def terminal(lines: list[str], paint: Callable[[str], str | None] | None = None) -> str:
    """Lines for a terminal or a CI log, each through ``one_line``, joined.

    Colour is added here, after escaping, so no escape sequence from data reaches a
    terminal: ``paint(line)`` gives the SGR code for a line (or None)."""
    out = []
    for text in "\n".join(lines).split("\n"):
        text = one_line(text)
        code = paint(text) if paint else None
        if code:
            body = text.lstrip(" ")
            text = f"{text[: len(text) - len(body)]}\x1b[{code}m{body}\x1b[0m"
        out.append(text)
    return "\n".join(out)


def literal(value: object, *, width: int = VALUE_WIDTH, cell: bool = False) -> str:
    """``value`` as a Markdown code span that renders exactly as its (shortened) text."""
    text = shown(_NEWLINES.sub("⏎", str(value)), width)
    if not text.strip():
        return "`" + (text.replace(" ", "␠") or "∅") + "`"
    longest = max((len(m) for m in _TICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (text[0] == " " and text[-1] == " "):
        text = f" {text} "
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def html_text(value: object, *, width: int = VALUE_WIDTH) -> str:
    """``value`` as text inside our own HTML (a ``<summary>``): entities, one line, shortened."""
    text = shown(_NEWLINES.sub(" ", str(value)), width)
    # Markdown is not read inside an HTML block, but escape its specials anyway so a
    # renderer that does read it finds nothing to interpret.
    escaped = html.escape(text, quote=True)
    return re.sub(r"([\\`*_\[\]()!|~@:])", lambda m: f"&#{ord(m.group(1))};", escaped)
