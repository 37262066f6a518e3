"""Per-record checksums, and messages about damage that never echo the damaged bytes.

>>> record_checksum(1234, "ann@example.com/w1", "sent", "9f2c...", "ann@example.com")  # doctest: +SKIP
'5b0c1f6e8a2d4c17'

Why a checksum per record: SQLite notices a damaged page structure, but a flipped byte
*inside* a record is just another value to it.  A flipped key looks like an item never
sent, a flipped status like a failed one: the next run would trigger the lead again.
Each record therefore carries BLAKE2b (8 bytes) over what decides whether it is sent
again -- campaign id, key, status, token hash and lead -- and the token hash itself is
checked against the stored tokens when they are read.  A record that fails is an error
naming its campaign and key, never a record treated as absent.
"""

from __future__ import annotations

import hashlib
import struct

from mktsync.errors import LedgerError, one_line

_PERSON = b"mktsync-ledger1"  # domain separation: these digests mean nothing elsewhere
_TEMPLATE = hashlib.blake2b(digest_size=8, person=_PERSON)
_length = struct.Struct(">I").pack
_SHOWN = 80  # characters of a damaged value shown in a message


def record_checksum(campaign_id: object, key: str, status: str, token_hash: str, lead: str) -> str:
    """The checksum stored with an item record: 16 hex digits.

    Each part is framed by its length (4 bytes, big-endian) so that no two records share
    an input.  Written out by hand, hashed in one update from a copied template: a third
    cheaper than a loop of updates, which counts when ``verify`` reads a million records.
    """
    # Damaged text keeps its bytes (surrogateescape) and so fails, never raises.
    c = str(campaign_id).encode("utf-8", "surrogateescape")
    k = str(key).encode("utf-8", "surrogateescape")
    s = str(status).encode("utf-8", "surrogateescape")
    h = str(token_hash).encode("utf-8", "surrogateescape")
    lead_bytes = str(lead).encode("utf-8", "surrogateescape")
    digest = _TEMPLATE.copy()
    digest.update(
        b"".join((
            _length(len(c)), c, _length(len(k)), k, _length(len(s)), s,
            _length(len(h)), h, _length(len(lead_bytes)), lead_bytes,
        ))
    )  # fmt: skip
    return digest.hexdigest()


def lead_checksum(email: str, lead_id: object) -> str:
    """The checksum stored with an email -> lead id cache entry."""
    return record_checksum("lead_cache", email, "", "", str(lead_id))


def shown(value: object, limit: int = _SHOWN) -> str:
    """A value from the file as a message may show it: escaped, one line, truncated."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = one_line(ascii(value) if isinstance(value, str) else ascii(str(value)))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_text(text: str, limit: int = 300) -> str:
    """A database error message with anything unprintable escaped, cut to ``limit``."""
    clean = "".join(c if c.isprintable() and c.isascii() else ascii(c)[1:-1] for c in text)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def damaged_record(name: str, campaign_id: object, key: object, what: str) -> LedgerError:
    """The error for a record that fails its checks; the file is left untouched."""
    return LedgerError(
        f"{name}: the ledger is damaged: the record of campaign {shown(campaign_id, 24)} "
        f"key {shown(key)} {what}; nothing was sent. Restore the ledger from a backup (or "
        "`mktsync ledger export --format sqlite` copy); it was left untouched"
    )


def check_record(
    name: str,
    campaign_id: object,
    key: object,
    status: object,
    token_hash: object,
    lead: object,
    checksum: object,
) -> None:
    """Raise ``damaged_record`` unless the stored checksum matches the record's fields."""
    if not (
        isinstance(campaign_id, int)
        and isinstance(key, str)
        and isinstance(status, str)
        and isinstance(token_hash, str)
        and isinstance(lead, str)
        and isinstance(checksum, str)
    ):
        raise damaged_record(name, campaign_id, key, "has a field of the wrong type")
    if record_checksum(campaign_id, key, status, token_hash, lead) != checksum:
        raise damaged_record(name, campaign_id, key, "fails its checksum")
