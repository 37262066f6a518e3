"""The ledger's CSV export: its columns, and cells a spreadsheet would run as formulas.

>>> neutralise("=1+2")
"'=1+2"
>>> restore(neutralise("-3")), neutralise("'quoted"), restore("'quoted")
('-3', "'quoted", "'quoted")

A spreadsheet opening a CSV runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` as
a formula (OWASP, "CSV Injection"), and keys, leads and token values come from data that
strangers' pull requests may write.  OWASP's rule, followed to the letter: a cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a line feed gets a
single quote ``'`` in front, which spreadsheets take as "this is text" and do not show.
That includes negative numbers (``-3`` becomes ``'-3``): OWASP names every leading
``-``, and a cell like ``-2+3`` is a formula too.  The full-width forms of the first four
(U+FF1D, U+FF0B, U+FF0D, U+FF20) are treated alike: Excel in a Japanese locale reads
them as the ASCII ones (OWASP www-community issue #1088; not yet on the page itself).

The quote must not make values ambiguous, because ``ledger import`` reads the export
back: a value that already begins with quotes followed by one of those characters
(``'=x``) gets one more quote (``''=x``), so ``restore`` (remove one quote from a cell
of quotes followed by one of them) gives back exactly what was stored, for every value.
"""

from __future__ import annotations

import re

# The export's columns, in order. Append new ones at the end; never reorder (warehouse loads).
EXPORT_COLUMNS = (
    "campaign_id", "key", "status", "lead", "lead_id", "attempts", "request_id", "error_code",
    "error_message", "run_id", "created_at", "updated_at", "token_hash", "tokens",
)  # fmt: skip

FORMULA_LEADS = "=+-@\t\r\n\uff1d\uff0b\uff0d\uff20"  # OWASP's list, and the full-width forms
_NEEDS_QUOTE = re.compile(f"'*[{re.escape(FORMULA_LEADS)}]")
_QUOTED = re.compile(f"'+[{re.escape(FORMULA_LEADS)}]")


def neutralise(cell: str) -> str:
    """``cell`` as the CSV export writes it: a quote in front if a spreadsheet would run it."""
    return f"'{cell}" if _NEEDS_QUOTE.match(cell) else cell


def restore(cell: str) -> str:
    """The value ``neutralise`` was given: one quote fewer on a cell it quoted."""
    return cell[1:] if _QUOTED.match(cell) else cell
