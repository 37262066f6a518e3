"""The size bound on rendered values: ``max_value_bytes`` (default 64 KB).

>>> oversized(item, 65536)                  # doctest: +SKIP
'tokens.{{my.Body}}: renders 70,000 bytes, over max_value_bytes (65,536)'

The sandbox stops any single template result at a hard bound (``MAX_RESULT_SIZE``);
this is the configurable one, applied to every item whatever path rendered it (the
fast path concatenates source values without Jinja).  An item over it becomes an
invalid item with this reason: a pull request cannot put a megabyte token in a plan.
"""

from __future__ import annotations

from mktsync.items import Item


def oversized(item: Item, limit: int) -> str | None:
    """Why ``item`` has a value over ``limit`` UTF-8 bytes, or None (the common case: cheap)."""
    quick = limit // 4  # a character is at most 4 bytes: shorter strings cannot be over
    # The common case first, without building a name per value (it runs once per item).
    if len(item.key) <= quick and len(item.email or "") <= quick:
        for _, value in item.tokens:
            if len(value) > quick:
                break
        else:
            for _, value in item.fields:
                if len(value) > quick:
                    break
            else:
                return None
    values = [("key", item.key), ("lead.email", item.email or "")]
    values += [(f"tokens.{name}", value) for name, value in item.tokens]
    values += [(f"lead.fields.{name}", value) for name, value in item.fields]
    for name, value in values:
        if len(value) > quick:
            size = len(value.encode("utf-8", "surrogatepass"))
            if size > limit:
                return f"{name}: renders {size:,} bytes, over max_value_bytes ({limit:,})"
    return None
