"""The checks that keep a pull request's config inside what the workflow allows.

>>> problems = security_problems(doc, base_dir, Policy(untrusted=True))    # doctest: +SKIP

``validate`` (and so ``plan``, which validates first) runs these over the document,
each problem located at the value written:

- every ``${VAR}`` names a variable the policy allows (``MARKETO_*``, ``MKTSYNC_*``,
  ``--allow-env NAME``); the value is never read here;
- file sources and ``sqlite:///`` paths stay in the repository and are regular files
  (``mktsync.config.confine``);
- the ledgers and SQL URLs obey the host rule of ``mktsync.config.dburl``: a non-SQLite
  URL is one ``${VAR}`` with no default, never a host written in the file; with
  ``--untrusted``, no SQL source at all, and a SQLite ledger inside the repository.

The same rules are applied again where values are used (``EnvString.resolve``, the
sources' ``open``), so this module is the early, located report, not the only guard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mktsync.config.confine import PathRefused, check_regular, confined_path
from mktsync.config.dburl import DEFAULT_LEDGER, UrlKind, redact, url_problem, url_secrets
from mktsync.config.model import EnvString
from mktsync.config.policy import EMBEDDED_MESSAGE, Policy, embeds_variables, not_allowed_message
from mktsync.config.yamlfile import JsonPath
from mktsync.errors import MktsyncError

FILE_SOURCES = ("csv", "json", "jsonl")

Report = Callable[[JsonPath, str], None]


def security_problems(
    data: dict[str, Any], base_dir: Path, policy: Policy, error: Report
) -> set[str]:
    """Report every problem through ``error``; return the names of sources refused."""
    refused: set[str] = set()
    urls = _database_urls(data)
    _check_variables(data, policy, error, skip_embedded={path for path, _, _ in urls})
    for where, url, url_kind in urls:
        if any(not policy.env_allowed(n) for n in EnvString(raw=url).variables):
            continue  # reported above; the value is never read
        message = url_problem(url, base_dir, policy, kind=url_kind)
        if message:
            error(where, message)
            if url_kind == "source":
                refused.add(str(where[1]))
    sources = data.get("sources")
    for name, source in (sources if isinstance(sources, dict) else {}).items():
        if not isinstance(source, dict):
            continue
        path: JsonPath = ("sources", name)
        kind = source.get("type")
        encoding = source.get("encoding")
        if kind in FILE_SOURCES and isinstance(encoding, str) and encoding_problem(encoding):
            error((*path, "encoding"), str(encoding_problem(encoding)))
        if kind in FILE_SOURCES and isinstance(source.get("path"), str):
            message = path_problem(source["path"], base_dir, policy)
            if message:
                error((*path, "path"), message)
                refused.add(name)
    return refused


def path_problem(written: str, base_dir: Path, policy: Policy) -> str | None:
    """Why a source file path may not be read (as ``validate`` reports it), or None."""
    try:
        check_regular(confined_path(written, base_dir, policy), written)
    except PathRefused as exc:
        return str(exc)
    return None


def _database_urls(data: dict[str, Any]) -> list[tuple[JsonPath, str, UrlKind]]:
    """Every value that may lead off the machine: the ledgers, ``limits.shared`` and the
    SQL sources' URLs."""
    found: list[tuple[JsonPath, str, UrlKind]] = []
    if isinstance(data.get("ledger"), str):
        found.append((("ledger",), data["ledger"], "ledger"))
    elif "ledger" not in data:
        # Not written, still read (a .mktsync folder linked out of the repository).
        found.append((("ledger",), DEFAULT_LEDGER, "ledger"))
    environments = data.get("environments")
    for env, spec in (environments if isinstance(environments, dict) else {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("ledger"), str):
            found.append((("environments", env, "ledger"), spec["ledger"], "ledger"))
    # limits.shared: the database of the instance's shared limits (marketo.shared_limits)
    blocks: list[tuple[JsonPath, Any]] = [(("marketo",), data.get("marketo"))]
    for env, spec in (environments if isinstance(environments, dict) else {}).items():
        blocks.append(
            (
                ("environments", env, "marketo"),
                spec.get("marketo") if isinstance(spec, dict) else None,
            )
        )
    for where, block in blocks:
        limits = block.get("limits") if isinstance(block, dict) else None
        if isinstance(limits, dict) and isinstance(limits.get("shared"), str):
            found.append(((*where, "limits", "shared"), limits["shared"], "limits"))
    sources = data.get("sources")
    for name, source in (sources if isinstance(sources, dict) else {}).items():
        if (
            isinstance(source, dict)
            and source.get("type") == "sql"
            and isinstance(source.get("url"), str)
        ):
            found.append((("sources", name, "url"), source["url"], "source"))
    return found


def _check_variables(
    data: dict[str, Any], policy: Policy, error: Report, *, skip_embedded: set[JsonPath]
) -> None:
    for path, text in _env_values(data):
        refused = [n for n in EnvString(raw=text).variables if not policy.env_allowed(n)]
        if refused:
            error(path, not_allowed_message(refused[0]))
        elif path not in skip_embedded and embeds_variables(text):
            error(path, EMBEDDED_MESSAGE)  # a database URL's own rule says it otherwise


def _env_values(data: dict[str, Any]) -> list[tuple[JsonPath, str]]:
    """Every value read as an ``EnvString``: the marketo blocks, the ledgers, SQL URLs."""
    found: list[tuple[JsonPath, str]] = []
    marketo = data.get("marketo")
    if isinstance(marketo, dict):
        for key in ("base_url", "client_id", "client_secret"):
            if isinstance(marketo.get(key), str):
                found.append((("marketo", key), marketo[key]))
    environments = data.get("environments")
    for env, spec in (environments if isinstance(environments, dict) else {}).items():
        block = spec.get("marketo") if isinstance(spec, dict) else None
        for key in ("base_url", "client_id", "client_secret"):
            if isinstance(block, dict) and isinstance(block.get(key), str):
                found.append((("environments", env, "marketo", key), block[key]))
    return found + [(path, url) for path, url, _ in _database_urls(data)]


# Codecs Python counts as text encodings that cannot read a file's text: they decode
# host names (and fail on a comma or turn a cell "xn--..." into other letters),
# backslash escapes (a cell "C:\new" would change silently), or nothing at all.  Keyed
# by the codec's own name (``codecs.lookup(name).name``), so every alias is caught.
_NOT_FILE_TEXT = {
    "punycode": "decodes internationalised host names (xn--...), not a file's text",
    "idna": "decodes internationalised host names (xn--...), not a file's text",
    "unicode-escape": "decodes Python backslash escapes: a \\n in a cell would become a line break",
    "raw-unicode-escape": "decodes Python backslash escapes: a \\u in a cell would change",
    "undefined": "decodes nothing (Python's placeholder codec)",
}


def encoding_problem(encoding: str) -> str | None:
    """Why ``encoding:`` cannot decode a text file: unknown, a bytes codec like base64, or
    a codec for something else than a file's text (punycode, unicode_escape...).

    >>> encoding_problem("latin-1") is None
    True
    >>> encoding_problem("idna")
    "'idna' is not a file encoding: it decodes internationalised host names (xn--...), not a file's text (try utf-8, latin-1 or cp1252)"
    """
    import codecs

    shown = _shown(encoding)
    try:
        info = codecs.lookup(encoding)
    except (LookupError, ValueError):  # ValueError: a NUL in the name, a lone surrogate
        return f"unknown encoding {shown}"
    if not getattr(info, "_is_text_encoding", True):
        return f"{shown} is not a text encoding (try utf-8, latin-1 or cp1252)"
    if info.name in _NOT_FILE_TEXT:
        why = _NOT_FILE_TEXT[info.name]
        return f"{shown} is not a file encoding: it {why} (try utf-8, latin-1 or cp1252)"
    return None


def _shown(encoding: str) -> str:
    """The name as written, quoted, escaped (a newline or a lone surrogate prints as such)
    and cut when long."""
    text = repr(encoding) if encoding.isprintable() else ascii(encoding)
    return text if len(text) <= 42 else text[:38] + "...'"


def byte_order_mark(head: bytes, encoding: str) -> bool:
    """Does ``head`` start with the byte order mark ``encoding`` (utf-16 or utf-32) needs?"""
    import codecs

    if encoding == "utf-16":
        return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or not head
    return head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or not head


def missing_bom(encoding: str) -> str:
    return (
        f"the file does not start with a {encoding} byte order mark; "
        f"write encoding: {encoding}-le (or {encoding}-be)"
    )


def config_file_problem(path: Path, policy: Policy) -> str | None:
    """With ``--untrusted``: why the config file itself may not be read (a link out, a FIFO).

    A pull request could replace ``campaigns.yaml`` with a link to a credentials file,
    whose values schema errors would then quote.
    """
    if not policy.untrusted:
        return None
    import os

    from mktsync.config.confine import SYSTEM_TREES

    root = policy.root(path.parent)
    real = Path(os.path.realpath(path))
    outside = real != root and root not in real.parents
    if outside or any(Path(tree) in real.parents for tree in SYSTEM_TREES):
        return "the config file leads outside the repository through a symbolic link"
    try:
        check_regular(real, path.name)
    except PathRefused as exc:
        return str(exc)
    return None


@contextmanager
def as_written(value: EnvString, resolved: str) -> Iterator[None]:
    """Errors raised inside show ``value`` as written, never what it resolved to.

    >>> with as_written(config.ledger, url):      # doctest: +SKIP
    ...     open_ledger(url, ...)

    A driver's message ("failed to resolve host 'db.internal'", "invalid percent-encoded
    token: \"s3cr%et\"") would otherwise print the value of ``${MKTSYNC_LEDGER_URL}``:
    every part of the resolved URL long enough to mean something (host, user, password,
    path, query values; as written and percent-decoded) is replaced, even when the URL is
    malformed.  A value with no variable (``--ledger URL``) is shown as given, but its
    password is replaced all the same.
    """
    try:
        yield
    except MktsyncError as exc:
        message = str(exc)
        hidden = _hide(message, resolved, value) if value.variables else _secret(message, resolved)
        if hidden == message:
            raise
        exc.args = (hidden,)
        raise exc from None


def _secret(message: str, resolved: str) -> str:
    """``message`` with the URL's password and credential values replaced."""
    for piece in sorted(url_secrets(resolved), key=len, reverse=True):
        message = message.replace(piece, "***")
    return message


def _hide(message: str, resolved: str, value: EnvString) -> str:
    import urllib.parse

    # The URL as a ledger's messages name it (``redact``), its secrets, and every other
    # part long enough to mean something, as written and percent-decoded.
    secrets = url_secrets(resolved)
    pieces = {resolved, resolved.strip(), redact(resolved), *secrets, *_parts(resolved)}
    pieces |= {urllib.parse.unquote(p) for p in pieces}
    for piece in sorted((p for p in pieces if len(p) >= 3 or p in secrets), key=len, reverse=True):
        if piece in value.raw and piece not in secrets:
            continue  # written in the file: no secret
        message = message.replace(piece, value.raw if piece.startswith(resolved[:8]) else "***")
    return message


def _parts(url: str) -> set[str]:
    """The URL's user, host, port, path and query values; split by hand when
    ``urllib`` refuses it (``postgresql://u:pw@[::1/x``, a malformed host)."""
    import re
    import urllib.parse

    found: set[str] = set()
    _, _, rest = url.partition("://")
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    userinfo, at, host = netloc.rpartition("@")
    found |= {netloc, host, userinfo.split(":", 1)[0] if at else "", "/" + path if path else ""}
    found |= set(re.split(r"[\[\]:,]+", host))  # the hosts and ports of a list, bracketed IPv6
    found |= {v for _, v in urllib.parse.parse_qsl(query, keep_blank_values=True)}
    try:
        parts = urllib.parse.urlsplit(url)
        found |= {parts.netloc, parts.path, parts.hostname or "", parts.username or ""}
    except ValueError:
        pass
    return {p for p in found if p}
