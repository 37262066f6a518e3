"""Values from data, made safe to paste into GitHub Markdown: always literal text.

A pull-request comment is read as the truth about a change, so a value from a CSV cell must
not be able to draw an image, a link, a table column or a mention in it.  Every data value
goes out as a code span: inside one, CommonMark and GFM interpret no HTML, emphasis, links,
autolinks or @mentions.  What a code span cannot hold is handled here:

- a backtick run inside the value: the fence is one backtick longer than the longest run,
  padded with a space when the value starts or ends with a backtick (CommonMark 6.1);
- a newline: a code span would end at a blank line; newlines become ``⏎``;
- ``|`` in a table cell: GFM splits cells before inline parsing, even inside code spans,
  so it is written ``\\|`` (which GFM reads back as ``|`` inside the span);
- length: values are cut to ``width`` characters with an ellipsis, so one 10 KB cell cannot
  fill the comment.

>>> literal("<img src=x>")
'`<img src=x>`'
>>> literal("a|b", cell=True)
'`a\\\\|b`'
"""

from __future__ import annotations

import html
import re

VALUE_WIDTH = 200
_TICKS = re.compile(r"`+")
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def literal(value: object, *, width: int = VALUE_WIDTH, cell: bool = False) -> str:
    """``value`` as a Markdown code span that renders exactly as its (shortened) text."""
    text = _NEWLINES.sub("⏎", str(value))
    text = _CONTROL.sub("�", text)
    if len(text) > width:
        text = text[: width - 1] + "…"
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
    text = _NEWLINES.sub(" ", str(value))
    if len(text) > width:
        text = text[: width - 1] + "…"
    # Markdown is not read inside an HTML block, but escape its specials anyway so a
    # renderer that does read it finds nothing to interpret.
    escaped = html.escape(text, quote=True)
    return re.sub(r"([\\`*_\[\]()!|~@:])", lambda m: f"&#{ord(m.group(1))};", escaped)
