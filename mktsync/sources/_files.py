"""Opening a source's file: paths as written, encodings, BOMs and located decode errors.

>>> with open_text(spec) as f:          # doctest: +SKIP
...     for line in f: ...

Every source kind reads through here, so a missing file or a bad byte reads the
same way whatever the kind: ``registrations: data/registrations.csv:88: ...``.
"""

from __future__ import annotations

import codecs
import io
from typing import TextIO

from mktsync.config.model import SourceSpec
from mktsync.config.security import byte_order_mark, encoding_problem, missing_bom
from mktsync.errors import SourceError
from mktsync.sources.paths import open_confined

_UTF8_BOM = codecs.BOM_UTF8


def written_path(spec: SourceSpec, key: str = "path") -> str:
    """The path as the config file spells it: messages show this, not an absolute path."""
    return str(spec.options[key])


def codec_name(spec: SourceSpec) -> str:
    """The Python codec for ``spec.options['encoding']``; ``utf-8`` also accepts a BOM."""
    encoding = str(spec.options.get("encoding") or "utf-8")
    problem = encoding_problem(encoding)
    if problem:
        where = spec.positions.get("encoding")
        raise SourceError(spec.name, str(where or ""), problem)
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name == "utf-8" else name


def open_binary(spec: SourceSpec, key: str = "path") -> io.BufferedReader:
    # Confined to the repository and refused unless a regular file: see `paths`.
    return open_confined(spec, key)


def open_text(spec: SourceSpec) -> TextIO:
    """The source file as text, newlines untranslated (``csv`` needs them as written).

    A UTF-8 BOM is skipped for any byte-oriented encoding: such a file is UTF-8 whatever
    the config says, and the BOM would otherwise glue itself to the first column's name.
    """
    encoding = codec_name(spec)
    raw = open_binary(spec)
    if not encoding.startswith(("utf-16", "utf-32")) and raw.peek(3)[:3] == _UTF8_BOM:
        raw.read(3)
    if encoding in ("utf-16", "utf-32") and not byte_order_mark(raw.peek(4), encoding):
        raw.close()
        raise SourceError(spec.name, written_path(spec), f"{missing_bom(encoding)}")
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")


def decode_error(spec: SourceSpec, exc: UnicodeDecodeError) -> SourceError:
    """A ``SourceError`` naming the line of the first undecodable byte.

    Text files decode in chunks, so the error surfaces before the bad line is read;
    finding the line costs one more pass over the file, on this error path only.
    """
    encoding = codec_name(spec)
    line = 0
    with open_binary(spec) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
        try:
            for number, content in enumerate(text, start=1):
                if any("\udc80" <= ch <= "\udcff" for ch in content):
                    line = number
                    break
        except UnicodeDecodeError:  # bytes under 0x80 that no escape carries (utf-32's)
            line = 0  # the byte offset below still says where
    bad = exc.object[exc.start : exc.start + 1].hex()
    where = f"{written_path(spec)}:{line}" if line else written_path(spec)
    shown = spec.options.get("encoding") or "utf-8"
    offset, hint = _decode_offset(spec, encoding)
    at = f" at byte {offset}" if offset is not None else ""
    return SourceError(spec.name, where, f"cannot decode byte 0x{bad}{at} as {shown}{hint}")


def _decode_offset(spec: SourceSpec, encoding: str) -> tuple[int | None, str]:
    """The file offset of the first undecodable byte, and which ``encoding:`` to try."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    position = 0
    with open_binary(spec) as raw:
        head = raw.peek(4)[:4]
        while chunk := raw.read(64 * 1024):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0])
                return position - pending + exc.start, _encoding_hint(head, encoding)
            position += len(chunk)
    return None, _encoding_hint(head, encoding)


def _encoding_hint(head: bytes, encoding: str) -> str:
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head
    if utf16 and not encoding.startswith("utf-16"):
        return "; the file looks like UTF-16: set 'encoding: utf-16' on this source"
    if encoding.startswith("utf-8"):
        return "; if it was saved by Excel on Windows, set 'encoding: cp1252' on this source"
    return ""
