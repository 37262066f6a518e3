"""``type: sql`` — the rows of a query.

>>> for number, row in iter_rows(spec):     # doctest: +SKIP
...     row["email"]

Options: ``url`` (an ``EnvString``: ``${DATABASE_URL}`` is resolved only here, when
the query runs), ``query`` and ``chunk_size`` (default 1000, rows per ``fetchmany``).
The row number is the row's 1-based index in the result.

``sqlite:///relative/path.db`` (relative to the config file) and
``sqlite:////absolute/path.db`` use the standard library and open the file
read-only.  Any other URL goes through SQLAlchemy, installed with ``mktsync[sql]``.
Messages show the URL as written in the config (which names variables, not their
values); a resolved URL is only ever shown with its password replaced.
"""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from mktsync.config.model import EnvString, SourceSpec
from mktsync.errors import EnvironmentVariableError, SourceError
from mktsync.row import Row

DEFAULT_CHUNK_SIZE = 1000
_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:)[^@]*@")


def redact_url(url: str) -> str:
    """``postgresql://app:s3cret@db/x`` -> ``postgresql://app:***@db/x``."""
    return _PASSWORD.sub(r"\g<head>***@", url)


def iter_rows(spec: SourceSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Run the query and yield ``(index, row)``, fetching ``chunk_size`` rows at a time."""
    raw = spec.options["url"]
    url_text = raw.resolve() if isinstance(raw, EnvString) else str(raw)
    chunk_size = int(spec.options.get("chunk_size") or DEFAULT_CHUNK_SIZE)
    if url_text.startswith("sqlite:///"):
        yield from _sqlite_rows(spec, _sqlite_path(spec.base_dir, url_text), chunk_size)
    else:
        yield from _sqlalchemy_rows(spec, url_text, chunk_size)


def _sqlite_path(base_dir: Path, url: str) -> Path:
    # sqlite:///rel.db -> "rel.db" (relative); sqlite:////abs.db -> "/abs.db" (absolute)
    written = urllib.parse.unquote(url.removeprefix("sqlite:///").split("?", 1)[0])
    return base_dir / written


def _sqlite_rows(
    spec: SourceSpec, path: Path, chunk_size: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    shown = _shown_url(spec)
    if not path.is_file():
        raise SourceError(spec.name, _where(spec, "url"), f"database file not found for {shown}")
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise SourceError(spec.name, _where(spec, "url"), f"cannot open {shown}: {exc}") from None
    with closing(connection), closing(connection.cursor()) as cursor:
        try:
            cursor.execute(str(spec.options["query"]))
        except sqlite3.Error as exc:
            raise SourceError(spec.name, _where(spec, "query"), f"query failed: {exc}") from None
        yield from _chunks(
            spec, cursor.description or (), cursor.fetchmany, chunk_size, sqlite3.Error
        )


def _sqlalchemy_rows(
    spec: SourceSpec, url: str, chunk_size: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import sqlalchemy  # an optional extra: only this kind of source needs it
    except ImportError:
        scheme = url.split(":", 1)[0] or "this"
        raise SourceError(
            spec.name,
            _where(spec, "url"),
            f"{scheme} URLs need SQLAlchemy: pip install 'mktsync[sql]' (and the database's driver)",
        ) from None
    error = sqlalchemy.exc.SQLAlchemyError
    try:
        engine = sqlalchemy.create_engine(url)
    except (error, ValueError) as exc:
        raise SourceError(
            spec.name, _where(spec, "url"), f"bad URL {_shown_url(spec)}: {_scrub(exc, url)}"
        ) from None
    try:
        with engine.connect() as connection:
            try:
                result = connection.execution_options(stream_results=True).execute(
                    sqlalchemy.text(str(spec.options["query"]))
                )
            except error as exc:
                raise SourceError(
                    spec.name, _where(spec, "query"), f"query failed: {_scrub(exc, url)}"
                ) from None
            columns = [(name,) for name in result.keys()]  # noqa: SIM118 - a Result, not a dict
            yield from _chunks(spec, columns, result.fetchmany, chunk_size, error)
    except error as exc:
        raise SourceError(
            spec.name,
            _where(spec, "url"),
            f"cannot connect to {_shown_url(spec)}: {_scrub(exc, url)}",
        ) from None
    finally:
        engine.dispose()


def _chunks(
    spec: SourceSpec,
    description: Sequence[Sequence[Any]],
    fetchmany: Any,
    chunk_size: int,
    error: type[BaseException],
) -> Iterator[tuple[int, dict[str, Any]]]:
    names = [str(column[0]) for column in description]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceError(
            spec.name,
            _where(spec, "query"),
            f"column '{duplicates[0]}' appears twice in the result; name the columns with AS",
        )
    number = 0
    while True:
        try:
            chunk = fetchmany(chunk_size)
        except error as exc:
            raise SourceError(spec.name, _where(spec, "query"), f"query failed: {exc}") from None
        if not chunk:
            return
        for values in chunk:
            number += 1
            yield number, Row(zip(names, values, strict=True))


def _where(spec: SourceSpec, key: str) -> str:
    position = spec.positions.get(key) or spec.position
    return str(position)


def _shown_url(spec: SourceSpec) -> str:
    raw = spec.options["url"]
    text = raw.raw if isinstance(raw, EnvString) else str(raw)
    return f"'{redact_url(text)}'"


def _scrub(exc: BaseException, url: str) -> str:
    """A driver's message, with the resolved URL and its password taken out."""
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    password = urllib.parse.urlsplit(url).password
    message = message.replace(url, redact_url(url))
    if password:
        message = message.replace(password, "***")
        message = message.replace(urllib.parse.unquote(password), "***")
    return message


def columns(spec: SourceSpec) -> tuple[str, ...] | None:
    """A SQLite query's column names from its cursor description, fetching no row.

    The query runs wrapped in ``SELECT * FROM (...) LIMIT 0``, so SQLite plans it but
    reads nothing.  Other databases, and URLs needing a variable that is not set, give
    None: ``validate`` needs no secret and no server.
    """
    raw = spec.options["url"]
    try:
        url_text = raw.resolve() if isinstance(raw, EnvString) else str(raw)
    except EnvironmentVariableError:
        return None
    if not url_text.startswith("sqlite:///"):
        return None
    path = _sqlite_path(spec.base_dir, url_text)
    if not path.is_file():
        raise SourceError(
            spec.name, _where(spec, "url"), f"database file not found for {_shown_url(spec)}"
        )
    query = str(spec.options["query"]).strip().rstrip(";")
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            cursor = connection.execute(f"SELECT * FROM ({query}\n) LIMIT 0")
            return tuple(str(column[0]) for column in cursor.description or ())
    except sqlite3.Error as exc:
        raise SourceError(spec.name, _where(spec, "query"), f"query failed: {exc}") from None
