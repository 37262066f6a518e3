"""``type: sql`` — the rows of a query.

>>> for number, row in iter_rows(spec):     # doctest: +SKIP
...     row["email"]

Options: ``url`` (an ``EnvString``: ``${DATABASE_URL}`` is resolved only here, when
the query runs), ``query`` and ``chunk_size`` (default 1000, rows per ``fetchmany``).
The row number is the row's 1-based index in the result.

``sqlite:///relative/path.db`` (relative to the config file, confined to the
repository like any source file: see ``mktsync.config.confine``) uses the standard
library and opens the file read-only, under an authorizer that permits reading only
(no ``ATTACH``, ``VACUUM INTO``, ``PRAGMA``, writes or extension loading) and a
progress handler that stops a query after ``timeout_seconds`` (default 120).
Any other URL goes through SQLAlchemy, installed with ``mktsync[sql]``, and must be
written as one ``${VAR}`` with no default so a pull request cannot choose the host (the
host rule, ``mktsync.config.dburl``); through psycopg or psycopg2, libpq gets only what
the URL says (no ``$PGPASSWORD``, ``~/.pgpass``, ``$PGHOST``).  ``--untrusted`` runs
refuse SQL sources altogether.  Messages show the URL as written in the config
(which names variables, not their values); a resolved URL is only ever shown as
``mktsync.config.dburl.redact`` shows it (password replaced, query left out).
"""

from __future__ import annotations

import sqlite3
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from mktsync.config.confine import sqlite_written_path
from mktsync.config.dburl import libpq_pins, redact, url_problem, url_secrets
from mktsync.config.defaults import source_defaults
from mktsync.config.model import EnvString, SourceSpec
from mktsync.errors import EnvironmentVariableError, SourceError
from mktsync.row import Row
from mktsync.sources.paths import confined, confined_file

DEFAULT_CHUNK_SIZE: int = source_defaults("sql")["chunk_size"]
DEFAULT_TIMEOUT_SECONDS = float(source_defaults("sql")["timeout_seconds"])
MAX_SQLITE_VALUE = 1_000_000  # bytes of one string or blob a query may build
# Functions a read-only query may call: no load_extension, no randomness, no blob bombs,
# no printf/format (a '%.*c' width of 10**9 costs seconds before SQLite refuses it).
SAFE_FUNCTIONS = frozenset(
    {
        "abs",
        "avg",
        "char",
        "coalesce",
        "count",
        "date",
        "datetime",
        "glob",
        "group_concat",
        "hex",
        "ifnull",
        "iif",
        "instr",
        "julianday",
        "length",
        "like",
        "likelihood",
        "likely",
        "lower",
        "ltrim",
        "max",
        "min",
        "nullif",
        "quote",
        "replace",
        "round",
        "rtrim",
        "sign",
        "strftime",
        "string_agg",
        "substr",
        "substring",
        "sum",
        "time",
        "total",
        "trim",
        "typeof",
        "unicode",
        "unixepoch",
        "unlikely",
        "upper",
        "json",
        "json_extract",
        "json_array",
        "json_object",
        "json_type",
        "json_valid",
        "json_array_length",
        "json_each",
        "json_tree",
        "json_group_array",
        "json_group_object",
        "row_number",
        "rank",
        "dense_rank",
        "percent_rank",
        "cume_dist",
        "ntile",
        "lag",
        "lead",
        "first_value",
        "last_value",
        "nth_value",
    }
)
_READS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}
_ACTIONS = {
    getattr(sqlite3, n): n.removeprefix("SQLITE_").replace("_", " ")
    for n in dir(sqlite3)
    if n.startswith("SQLITE_")
    and n.split("_", 1)[1].split("_", 1)[0]
    in {
        "ATTACH",
        "DETACH",
        "PRAGMA",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "ALTER",
        "ANALYZE",
        "REINDEX",
        "TRANSACTION",
        "SAVEPOINT",
        "FUNCTION",
        "COPY",
    }
}


def iter_rows(spec: SourceSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Run the query and yield ``(index, row)``, fetching ``chunk_size`` rows at a time."""
    url_text = _resolved(spec)
    chunk_size = int(spec.options.get("chunk_size") or DEFAULT_CHUNK_SIZE)
    path = _sqlite_file(spec, url_text)
    if path is not None:
        yield from _sqlite_rows(spec, path, chunk_size)
    else:
        yield from _sqlalchemy_rows(spec, url_text, chunk_size)


def _resolved(spec: SourceSpec) -> str:
    """The source's URL, resolved: a refusal of the host rule (``config.dburl``, which says
    among others that an untrusted run reads no SQL) is this source's located error.

    ``resolve`` applies the rule again, so a URL that reaches a driver has always passed it.
    """
    value = _url(spec)
    refused = url_problem(value.raw, spec.base_dir, spec.policy, kind="source")
    if refused:
        raise SourceError(spec.name, _where(spec, "url"), refused)
    return value.resolve()


def _sqlite_rows(
    spec: SourceSpec, path: Path, chunk_size: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    connection, guard = _connect(spec, path)
    with closing(connection), closing(connection.cursor()) as cursor:
        try:
            cursor.execute(str(spec.options["query"]))
        except sqlite3.Error as exc:
            raise SourceError(spec.name, _where(spec, "query"), guard.explain(exc)) from None
        yield from _chunks(
            spec, cursor.description or (), cursor.fetchmany, chunk_size, sqlite3.Error, guard
        )


def _connect(spec: SourceSpec, path: Path) -> tuple[sqlite3.Connection, _ReadOnlyGuard]:
    """A read-only connection under the guard: reads only, in time, values of bounded size."""
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise SourceError(
            spec.name, _where(spec, "url"), f"cannot open {_shown_url(spec)}: {exc}"
        ) from None
    timeout = float(spec.options.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
    guard = _ReadOnlyGuard(timeout)
    connection.set_authorizer(guard.authorize)
    connection.set_progress_handler(guard.progress, 10_000)
    connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_SQLITE_VALUE)
    return connection, guard


def _sqlite_file(spec: SourceSpec, url_text: str) -> Path | None:
    """The confined, regular SQLite file a ``sqlite:///`` URL names (None for other URLs)."""
    path = sqlite_written_path(url_text)
    if path is None:
        return None
    if not confined(spec, path, "url").exists():
        shown = _shown_url(spec)
        raise SourceError(spec.name, _where(spec, "url"), f"database file not found for {shown}")
    return confined_file(spec, path, "url")


class _ReadOnlyGuard:
    """SQLite's authorizer and progress handler for a source query: read, and in time.

    SQLite calls ``authorize`` while it compiles the query: anything but reading
    tables and calling a function of ``SAFE_FUNCTIONS`` is denied, so ``ATTACH``,
    ``VACUUM INTO`` (which writes a file anywhere), writes and ``load_extension`` fail
    before they run.  ``progress`` runs every 10,000 virtual-machine steps and
    interrupts once the deadline has passed (a recursive CTE that never ends).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.denied: str | None = None
        self.timed_out = False

    def authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
    ) -> int:
        if action in _READS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in SAFE_FUNCTIONS:
            return sqlite3.SQLITE_OK
        if self.denied is None:
            name = _ACTIONS.get(action, f"operation {action}")
            self.denied = f"{name} {arg2}" if action == sqlite3.SQLITE_FUNCTION else name
        return sqlite3.SQLITE_DENY

    def progress(self) -> int:
        if time.monotonic() > self.deadline:
            self.timed_out = True
            return 1  # non-zero: SQLite stops the query with "interrupted"
        return 0

    def explain(self, exc: sqlite3.Error) -> str:
        if self.timed_out:
            return (
                f"query stopped: it ran longer than {self.timeout:g} seconds "
                "(the source's timeout_seconds)"
            )
        if self.denied:
            return (
                f"query refused: a source query may only read (SELECT); {self.denied} is not "
                "allowed"
            )
        return f"query failed: {exc}"


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
        engine = sqlalchemy.create_engine(url, connect_args=_libpq_args(sqlalchemy, url))
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


def _libpq_args(sqlalchemy: Any, url: str) -> dict[str, str]:
    """For PostgreSQL through libpq: only what the URL says reaches the server.

    Without these, libpq would add ``$PGPASSWORD``, ``~/.pgpass`` or ``$PGHOST`` to a URL
    that does not say them (``mktsync.config.dburl.libpq_pins``).
    """
    from mktsync.config.dburl import LIBPQ_10_OPTIONS, libpq_options

    parsed = sqlalchemy.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return {}
    driver = parsed.get_driver_name()
    if driver not in ("psycopg", "psycopg2"):
        return {}  # not libpq: pins would be unknown options (docs/security.md)
    given = {
        key
        for key, part in (
            ("host", parsed.host),
            ("port", parsed.port),
            ("user", parsed.username),
            ("password", parsed.password),
            ("dbname", parsed.database),
        )
        if part is not None
    } | set(parsed.query)
    return libpq_pins(given, libpq_options() if driver == "psycopg" else LIBPQ_10_OPTIONS)


def _chunks(
    spec: SourceSpec,
    description: Sequence[Sequence[Any]],
    fetchmany: Any,
    chunk_size: int,
    error: type[BaseException],
    guard: _ReadOnlyGuard | None = None,
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
            message = guard.explain(exc) if guard else f"query failed: {exc}"  # type: ignore[arg-type]
            raise SourceError(spec.name, _where(spec, "query"), message) from None
        if not chunk:
            return
        for values in chunk:
            number += 1
            yield number, Row(zip(names, values, strict=True))


def _url(spec: SourceSpec) -> EnvString:
    """The source's URL as an ``EnvString`` under the host rule (a plain str from tests too)."""
    raw = spec.options["url"]
    if isinstance(raw, EnvString) and raw.url == "source":
        return raw
    return EnvString(
        raw=raw.raw if isinstance(raw, EnvString) else str(raw),
        field=f"sources.{spec.name}.url",
        position=spec.positions.get("url") or spec.position,
        policy=spec.policy,
        url="source",
        base_dir=spec.base_dir,
    )


def _where(spec: SourceSpec, key: str) -> str:
    position = spec.positions.get(key) or spec.position
    return str(position)


def _shown_url(spec: SourceSpec) -> str:
    raw = spec.options["url"]
    text = raw.raw if isinstance(raw, EnvString) else str(raw)
    return f"'{redact(text)}'"


def _scrub(exc: BaseException, url: str) -> str:
    """A driver's message, with the resolved URL redacted and its secrets taken out."""
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    message = message.replace(url, redact(url))
    for secret in sorted(url_secrets(url), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def columns(spec: SourceSpec) -> tuple[str, ...] | None:
    """A SQLite query's column names from its cursor description, fetching no row.

    The query runs wrapped in ``SELECT * FROM (...) LIMIT 0``, so SQLite plans it but
    reads nothing.  Other databases, and URLs needing a variable that is not set, give
    None: ``validate`` needs no secret and no server.
    """
    try:
        url_text = _resolved(spec)
    except (SourceError, EnvironmentVariableError):
        return None  # validate reports a refused URL itself; a missing variable is no error
    path = _sqlite_file(spec, url_text)
    if path is None:
        return None
    query = str(spec.options["query"]).strip().rstrip(";")
    connection, guard = _connect(spec, path)
    with closing(connection):
        try:
            cursor = connection.execute(f"SELECT * FROM ({query}\n) LIMIT 0")
        except sqlite3.Error as exc:
            raise SourceError(spec.name, _where(spec, "query"), guard.explain(exc)) from None
        return tuple(str(column[0]) for column in cursor.description or ())
