"""Items and batch runs: rows rendered (DESIGN.md's terms), and what is not an item.

``render`` produces these, ``plan`` classifies them against the ledger, ``apply``
sends them.  They are small frozen records with slots: a run may hold many.

What the ledger records is decided here, once: for an item its tokens and then the lead
fields written to every lead (``fields:``, named ``lead.<name>``), so that a changed
field value is a change (``Item.recorded``); for a batch run its My Tokens with
``runAt`` and ``cloneToProgramName`` (``ScheduleItem.stored``); and the digest of either
(``token_hash``), which the ledger stores and the plan compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b
from json.encoder import encode_basestring

Tokens = tuple[tuple[str, str], ...]  # ((name "{{my.X}}", value), ...) sorted by name

RUN_AT, CLONE = "runAt", "cloneToProgramName"  # stored beside a batch run's My Tokens
LEAD = "batch"  # what the ledger's lead column says for a batch run

_BLAKE2B_16 = blake2b(digest_size=16)  # copied per hash: cheaper than a new one with kwargs
_NAME_JSON: dict[str, str] = {}  # token names as JSON strings: a campaign has a few


def token_hash(tokens: Tokens) -> str:
    """A stable digest of a token set: same names and values, same hash, whatever the order.

    BLAKE2b-128 of ``json.dumps(sorted(tokens), ensure_ascii=False, separators=(",", ":"))``
    in UTF-8, with the JSON written from the C string encoder instead of ``json.dumps``
    (a hypothesis test holds the two equal): the ledger stores this digest, and the plan's
    steady state computes it for every item it compares.  A lone surrogate cannot be
    hashed (``UnicodeEncodeError``), as ``json.dumps`` + ``encode`` cannot.
    """
    names, parts = _NAME_JSON, []
    for name, value in sorted(tokens):
        text = names.get(name)
        if text is None:
            text = encode_basestring(name)
            if len(names) < 4096:
                names[name] = text
        parts.append(f"[{text},{encode_basestring(value)}]")
    digest = _BLAKE2B_16.copy()
    digest.update(f"[{','.join(parts)}]".encode())
    return digest.hexdigest()


def recorded_tokens(tokens: Tokens, synced: Tokens) -> Tokens:
    """What the ledger records for an item: its tokens, then the lead fields written to
    its lead before the trigger (``fields:``), each named ``lead.<name>``."""
    if not synced:
        return tokens
    return tokens + tuple((f"lead.{name}", value) for name, value in synced)


def _name(pair: tuple[str, str]) -> str:
    return pair[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One row rendered for one campaign: who to trigger, under which key, with which tokens.

    Exactly one of ``lead_id`` and ``email`` is set.  The lead fields come in two groups,
    each sorted by name: ``synced`` (``fields:``, written to the lead before every trigger
    and recorded with the tokens) and ``create_fields`` (``lead.fields`` under
    ``create_missing``: given only to a lead Marketo lacks and apply creates).

    >>> item = Item(campaign="c", campaign_id=1, key="k", lead_id=7, email=None,
    ...             tokens=(("{{my.T}}", "v"),), source="s", row=2, synced=(("city", "Oslo"),))
    >>> item.recorded
    (('{{my.T}}', 'v'), ('lead.city', 'Oslo'))
    """

    campaign: str
    campaign_id: int
    key: str
    lead_id: int | None
    email: str | None
    tokens: Tokens
    source: str
    row: int
    synced: Tokens = ()
    create_fields: Tokens = ()

    @property
    def lead(self) -> str:
        """The lead reference as users write it: ``id:318592`` or the email address."""
        return f"id:{self.lead_id}" if self.lead_id is not None else str(self.email)

    @property
    def recorded(self) -> Tokens:
        """The token set the ledger records (and the plan compares): ``recorded_tokens``.

        Derived, not stored: an item costs no more memory for it, and a first run, which
        compares nothing, never builds it; each reader (the plan's comparison, apply's
        pending mark, a baseline) asks for it once per item."""
        return recorded_tokens(self.tokens, self.synced)

    @property
    def fields(self) -> Tokens:
        """Every lead field value the item carries, both groups, by name: what the plan
        shows (``"fields"`` in its JSON) and what a lead apply creates is given."""
        if not self.create_fields:
            return self.synced
        if not self.synced:
            return self.create_fields
        return tuple(sorted((*self.create_fields, *self.synced), key=_name))


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleItem:
    """One run of a batch campaign (``schedules:``): when, with which tokens, under which
    ledger key."""

    schedule: str
    campaign_id: int
    key: str
    run_at: str  # ISO 8601 with offset, as sent
    tokens: Tokens
    clone_to_program: str | None = None
    source: str | None = None
    row: int | None = None

    @property
    def lead(self) -> str:
        return LEAD

    @property
    def stored(self) -> Tokens:
        """The token set the ledger keeps (and compares): My Tokens, runAt, clone name."""
        extra = [(RUN_AT, self.run_at)]
        if self.clone_to_program is not None:
            extra.append((CLONE, self.clone_to_program))
        return tuple(sorted([*self.tokens, *extra]))


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidItem:
    """A row that could not be rendered: reported with where it came from, never dropped."""

    campaign: str
    campaign_id: int
    source: str
    row: int
    reason: str
    key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FilteredRow:
    """A row that ``when`` left out."""

    campaign: str
    campaign_id: int
    source: str
    row: int
