"""The one rule for database URLs in a config: the file never chooses a host.

>>> url_problem("postgresql://db.example.com/x", Path("."), Policy(), kind="ledger")
'a database URL other than sqlite:/// must come from the environment: ...'

Four values of ``campaigns.yaml`` may lead off the machine: a ``sql`` source's ``url``,
the top-level ``ledger``, every ``environments.<name>.ledger`` and ``limits.shared`` (the
PostgreSQL database of the instance's shared limits, ``marketo.shared_limits``).  Whoever
opens a pull request writes the file, so each obeys this rule, in every run:

- ``sqlite:///path`` is a file on this machine, checked as a path: a source's inside the
  repository (``mktsync.config.confine``); a ledger's inside it too with ``--untrusted``
  (anywhere on the machine otherwise), never a FIFO or a device;
- any other URL is exactly one ``${VAR}``, no default: the workflow sets the variable, so
  the workflow chooses the host; the file only names which allowed variable to read;
- ``${VAR:-default}``: the default may only be a ``sqlite:///`` path, checked as above.
  Any other default (``${MKTSYNC_LEDGER_URL:-postgresql://attacker/db}``) would be the
  host whenever the variable is empty, as it is in a fork's pull-request run;
- ``limits.shared`` is exactly one ``${VAR}``, no default, and its value a
  ``postgresql://`` URL (nothing local to default to: an SQLite ledger's runs share
  limits through a file on the machine without being told);
- with ``--untrusted``, no ``sql`` source at all (``UNTRUSTED_SQL``: the one place this
  rule is written; ``security`` reports it at ``validate``, the ``sql`` source as its own
  error, and ``resolve_url`` refuses such a URL wherever it is opened).

``validate`` reports ``url_problem`` at the value's line; ``EnvString.resolve`` calls
``resolve_url``, which applies the rule again and then checks the value: with
``--untrusted`` a ``sqlite:///`` value from a variable must be inside the repository too,
and a ledger ``${VAR}`` that is unset or empty is an empty ledger (``EMPTY_LEDGER``), never
a host, never an error: ``plan`` then says so (``empty_ledger_note``).  Every command
resolves its ledger and source URLs through ``resolve``, so none can skip the rule.

``libpq_pins`` is the other half: once the URL comes from the workflow, libpq must not
add what the URL does not say (``$PGPASSWORD``, ``~/.pgpass``, ``$PGHOST``...).

``redact`` is how every message shows a database URL: the password replaced, the query
string left out (it can carry credentials too).  ``url_secrets`` is what a message must
not show of a URL wherever it appears (a driver's text quoting it).
"""

from __future__ import annotations

import dataclasses
import os
import re
import urllib.parse
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from mktsync.config.confine import (
    PathRefused,
    check_regular,
    confined_path,
    sqlite_written_path,
)
from mktsync.config.defaults import TOP
from mktsync.config.policy import (
    EMBEDDED_MESSAGE,
    REFERENCE,
    Policy,
    embeds_variables,
    whole_reference,
)
from mktsync.errors import EnvironmentVariableError

UrlKind = Literal["ledger", "source", "limits"]

DEFAULT_LEDGER: str = TOP["ledger"]  # when the file writes no `ledger:` (the schema's default)
EMPTY_LEDGER = "sqlite:///:memory:"
UNTRUSTED_SQL = (
    "an untrusted run (--untrusted) reads no SQL source; the workflow for pull "
    "requests from forks plans without it"
)
_EXAMPLE = {
    "ledger": "${MKTSYNC_LEDGER_URL}",
    "source": "${MKTSYNC_WAREHOUSE_URL}",
    "limits": "${MKTSYNC_LIMITS_URL}",
}
_POSTGRES = ("postgresql://", "postgres://")
_PASSWORD = re.compile(r"(?P<head>://[^:/@]*:)(?P<password>[^@]*)@")
# Query keys whose values are credentials (libpq's password and sslpassword, a driver's
# token or secret, sslkey's path): hidden wherever a message quotes them.
_CREDENTIAL_KEY = re.compile(r"pass|secret|token|key", re.IGNORECASE)


class UrlValue(Protocol):
    """What the rule reads of a URL value (a ``model.EnvString``, whose ``resolve`` calls
    ``resolve_url``): named here so the rule needs nothing above it."""

    @property
    def raw(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def position(self) -> object: ...
    @property
    def policy(self) -> Policy: ...
    @property
    def url(self) -> UrlKind | None: ...
    @property
    def base_dir(self) -> Path | None: ...
    @property
    def variables(self) -> tuple[str, ...]: ...


def redact(url: str) -> str:
    """A database URL as messages show it: the password replaced, the query left out.

    >>> redact("postgresql://ci:s3cret@db.internal:5432/mk?sslmode=require&sslpassword=x")
    'postgresql://ci:***@db.internal:5432/mk'

    The whole query string is left out, not only the keys known to hold a credential:
    libpq reads ``password=`` and ``sslpassword=`` there, other drivers a token or a
    key, and which keys do is each driver's to say.
    """
    return _PASSWORD.sub(r"\g<head>***@", url).split("?", 1)[0]


def url_secrets(url: str) -> set[str]:
    """What of ``url`` no message may show, wherever it appears: the password (as written
    and percent-decoded) and the values of query keys that name a credential.

    >>> sorted(url_secrets("postgresql://ci:p%40ss@db/mk?sslmode=require&password=s3cret"))
    ['p%40ss', 'p@ss', 's3cret']
    """
    found: set[str] = set()
    match = _PASSWORD.search(url)
    if match:
        found |= {match.group("password"), urllib.parse.unquote(match.group("password"))}
    query = url.split("?", 1)[1] if "?" in url else ""
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if _CREDENTIAL_KEY.search(key):
            found.add(value)
    return {text for text in found if text}


def url_problem(written: str, base_dir: Path, policy: Policy, *, kind: UrlKind) -> str | None:
    """Why a database URL as written in the file may not be used, or None."""
    if kind == "source" and policy.untrusted:
        return UNTRUSTED_SQL
    text = written.strip()
    if kind == "limits":
        return _limits_problem(text)
    if text.startswith("sqlite:///"):
        return _sqlite_problem(text, base_dir, policy, kind)
    reference = whole_reference(text)
    if reference is None:
        if embeds_variables(text):
            return EMBEDDED_MESSAGE
        return (
            "a database URL other than sqlite:/// must come from the environment: write it "
            f"as one variable, e.g. {_EXAMPLE[kind]}, so the file cannot choose the host"
        )
    name, default = reference
    if default is None:
        return None
    if default.startswith("sqlite:///"):
        problem = _sqlite_problem(default, base_dir, policy, kind)
        return f"the default of ${{{name}}}: {problem}" if problem else None
    return (
        f"the default of ${{{name}:-...}} may only be a sqlite:/// file: any other default "
        f"chooses the host whenever {name} is empty (as in a fork's pull request); write "
        f"${{{name}}} without a default"
    )


def _limits_problem(text: str) -> str | None:
    reference = whole_reference(text)
    if reference is None:
        if embeds_variables(text):
            return EMBEDDED_MESSAGE
        return (
            "limits.shared must come from the environment: write it as one variable, e.g. "
            f"{_EXAMPLE['limits']}, holding a postgresql:// URL, so the file cannot choose "
            "the host"
        )
    name, default = reference
    if default is not None:
        return (
            f"${{{name}:-...}}: limits.shared takes no default (it would choose the host "
            f"whenever {name} is empty); write ${{{name}}}"
        )
    return None


def resolve_url(
    value: UrlValue, env: Mapping[str, str], substitute: Callable[[Mapping[str, str]], str]
) -> str:
    """The URL ``value`` stands for, by the rule above (``EnvString.resolve`` calls this)."""
    assert value.url is not None
    where = f"{value.position}: " if value.position else ""
    base_dir = value.base_dir if value.base_dir is not None else Path(".")
    problem = url_problem(value.raw, base_dir, value.policy, kind=value.url)
    if problem:
        raise EnvironmentVariableError(f"{where}{value.field}: {problem}")
    if unset_ledger_variable(value, env):
        return EMPTY_LEDGER
    text = substitute(env).strip()
    if value.url == "limits" and not text.startswith(_POSTGRES):
        names = ", ".join(f"${{{n}}}" for n in value.variables)
        raise EnvironmentVariableError(
            f"{where}{value.field}: the value of {names} is not a postgresql:// URL; "
            "limits.shared names the PostgreSQL database that keeps the instance's shared "
            "limits"
        )
    # The workflow set the variable, but an untrusted run still keeps its files in the
    # repository; the message names the variable, never its value.
    from_variable = value.variables and text.startswith("sqlite:///")
    if (
        from_variable
        and value.policy.untrusted
        and _sqlite_problem(text, base_dir, value.policy, value.url, from_value=True)
    ):
        names = ", ".join(f"${{{n}}}" for n in value.variables)
        raise EnvironmentVariableError(
            f"{where}{value.field}: the value of {names} is a sqlite:/// file outside "
            "the repository (or not a regular file); an untrusted run (--untrusted) reads "
            "only regular files inside it"
        )
    return text


def unset_ledger_variable(value: UrlValue, env: Mapping[str, str] | None = None) -> str | None:
    """With ``--untrusted``: the ledger's ``${VAR}`` (no default) when it is unset or empty."""
    if value.url != "ledger" or not value.policy.untrusted:
        return None
    reference = whole_reference(value.raw)
    if reference is None or reference[1] is not None:
        return None
    name = reference[0]
    return None if (os.environ if env is None else env).get(name) else name


def empty_ledger_note(value: UrlValue, env: Mapping[str, str] | None = None) -> str | None:
    """What ``plan`` says when ``resolve_url`` gave ``EMPTY_LEDGER`` for ``value``."""
    name = unset_ledger_variable(value, env)
    if name is None:
        return None
    return (
        f"the ledger variable {name} is not set: planned against an empty ledger; "
        "every item shows as new"
    )


def _sqlite_problem(
    url: str, base_dir: Path, policy: Policy, kind: UrlKind, *, from_value: bool = False
) -> str | None:
    written = sqlite_written_path(url)
    if written is None or written == ":memory:":
        return None
    if from_value and os.path.isabs(written):
        # A workflow may well say sqlite:///$GITHUB_WORKSPACE/.mktsync/ledger.db: judged
        # by where it leads, as the same path written relative to the config would be.
        written = os.path.relpath(written, base_dir)
    if REFERENCE.search(written):
        # sqlite:///${MKTSYNC_DIR:-.mktsync}/ledger.db: checked with its defaults here;
        # with a variable that has none, only its value can be checked (resolve_url).
        if any(m.group(2) is None for m in REFERENCE.finditer(written)):
            return None
        written = REFERENCE.sub(lambda m: m.group(2), written)
    try:
        if kind == "source":
            check_regular(confined_path(written, base_dir, policy), written)
            return None
        # An untrusted ledger stays in the repository (not only under --allow-path:
        # the documented .mktsync/ledger.db is outside data/); a trusted one anywhere.
        inside = dataclasses.replace(policy, untrusted=False)
        real = confined_path(written, base_dir, inside) if policy.untrusted else base_dir / written
        check_regular(real, written)  # a FIFO or device as the ledger would hang `plan`
    except PathRefused as exc:
        return f"{exc} (the ledger)" if kind == "ledger" else str(exc)
    return None


# libpq options that choose the server or carry a credential, each with the value that
# means "nothing": what libpq does when neither the URL, nor a PG* variable, nor a file
# says more.  "/dev/null/none" can never exist (/dev/null has no children), so libpq
# finds no file there and says nothing (/dev/null itself makes it warn "not a plain file").
_NOWHERE = os.path.join(os.devnull, "none")
_PINS = {
    "host": "",  # none in the URL: the local socket, never $PGHOST
    "hostaddr": "",
    "port": "",  # 5432, never $PGPORT
    "user": "",  # the OS user, never $PGUSER
    "dbname": "",
    "password": "",  # never $PGPASSWORD
    "passfile": _NOWHERE,  # never ~/.pgpass or $PGPASSFILE
    "sslcert": _NOWHERE,  # no client certificate from ~/.postgresql or $PGSSLCERT
    "sslkey": _NOWHERE,
    "gssdelegation": "0",  # never forward Kerberos credentials ($PGGSSDELEGATION)
}


def libpq_pins(given: Collection[str], known: Collection[str]) -> dict[str, str]:
    """Connection options to pass to libpq beside a URL giving ``given``: only the URL speaks.

    >>> libpq_pins({"host", "user", "password", "dbname"}, {"host", "port", "passfile"})
    {'port': '', 'passfile': '/dev/null/none'}

    ``known`` is the options the driver's libpq has (an older one refuses unknown ones).
    Left out: ``service`` (an empty value is an error in libpq; a service file can only
    fill options not given here, so none of these), and options that tune the connection
    without choosing a server or offering a credential (``sslmode``, ``options``...).
    """
    return {k: v for k, v in _PINS.items() if k not in given and k in known}


# Options every libpq since 10 has (``passfile`` came in 10): enough for a driver whose
# libpq cannot be asked (psycopg2).
LIBPQ_10_OPTIONS = frozenset(set(_PINS) - {"gssdelegation"})


def libpq_options() -> frozenset[str]:
    """The options psycopg's libpq knows (``LIBPQ_10_OPTIONS`` without psycopg)."""
    try:
        from psycopg import pq
    except ImportError:
        return LIBPQ_10_OPTIONS
    return frozenset(o.keyword.decode() for o in pq.Conninfo.get_defaults())


def connect_options(url: str) -> dict[str, Any]:
    """What ``psycopg.connect`` gets beside ``url``: every option that could name a server
    or offer a credential, pinned to "nothing" unless the URL says it.

    >>> connect_options("postgresql://ci:pw@db.example.com/mktsync")["passfile"]
    '/dev/null/none'

    The URL comes from the workflow's variable, but the file chose *which* variable; so
    libpq may not add ``$PGPASSWORD``, ``~/.pgpass``, ``$PGHOST``, a service file's
    password or a client certificate on its own (docs/security.md).  Used by every
    PostgreSQL connection mktsync makes: the ledger's and the shared limiter's.
    """
    from psycopg.conninfo import conninfo_to_dict

    given = set(conninfo_to_dict(url))
    options: dict[str, Any] = libpq_pins(given, libpq_options())
    if "connect_timeout" not in given:
        options["connect_timeout"] = "10"  # never $PGCONNECT_TIMEOUT's "0" (wait forever)
    return options
