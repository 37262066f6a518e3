"""Helpers shared by the ledger tests (imported by name: tests are not a package)."""

from __future__ import annotations

from mktsync.items import Item


def item(key: str, *, campaign_id: int = 1234, email: str | None = None,
         lead_id: int | None = None, title: str = "Webinar 1") -> Item:  # fmt: skip
    """An item as ``render`` would make it."""
    if email is None and lead_id is None:
        email = key.split("/")[0]
    return Item(
        campaign="webinar-reminder",
        campaign_id=campaign_id,
        key=key,
        lead_id=lead_id,
        email=email,
        tokens=(("{{my.Link}}", "https://example.com/j/1"), ("{{my.Title}}", title)),
        source="registrations",
        row=1,
    )
