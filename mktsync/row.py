"""The record every source yields for a row."""

from __future__ import annotations

from typing import Any


class Row(dict[str, Any]):
    """One source row: a plain dict of column to value, typed so messages can call it ``row``.

    >>> Row(email="ada@example.com")["email"]
    'ada@example.com'

    Templates read it as a dict (``row.email``, ``row['first name']``, ``row.get('x', '')``);
    only Jinja's "has no attribute" message changes, from ``'dict object'`` to ``'row'``.
    Sources build it directly from their cells, so rendering needs no copy.
    """

    __slots__ = ()
