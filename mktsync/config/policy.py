"""What a run may reach beyond the config file, and how the file names the environment.

>>> whole_reference("${MKTSYNC_LEDGER_URL:-sqlite:///.mktsync/ledger.db}")
('MKTSYNC_LEDGER_URL', 'sqlite:///.mktsync/ledger.db')

The command line builds the ``Policy``; the file cannot widen it.  The file names
environment variables with ``${VAR}`` or ``${VAR:-default}`` (``REFERENCE``), and such a
reference must be the whole value (``embeds_variables``) except in a ``sqlite:///``
path.  The rules that apply a policy sit above this module: ``confine`` (files),
``dburl`` (database URLs), ``model.EnvString.resolve`` (variables) and ``security``
(the located report of all three at ``validate``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
ALLOWED_PREFIXES = ("MARKETO_", "MKTSYNC_")
EMBEDDED_MESSAGE = (
    "a ${VAR} must be the whole value (or part of a sqlite:/// path): inside a longer "
    "URL it would carry the variable's value to a host the file chooses"
)


@dataclass(frozen=True, kw_only=True)
class Policy:
    """What a run may reach beyond the config file: environment variables, folders, SQL.

    >>> Policy().env_allowed("MARKETO_CLIENT_ID"), Policy().env_allowed("AWS_SECRET_ACCESS_KEY")
    (True, False)

    The command line builds it (``--allow-env``, ``--data-root``, ``--untrusted``,
    ``--allow-path``); the config file cannot widen it.  Every ``EnvString`` and
    ``SourceSpec`` built from a file carries the policy it was loaded under, so no
    ``resolve()`` or file read can forget it.  ``data_root`` (default: the config file's
    folder) is where source files must be; with ``untrusted`` they must also be under
    one of ``allow_paths`` (relative to the root) and SQL sources are refused.
    """

    allow_env: frozenset[str] = frozenset()
    data_root: Path | None = None
    untrusted: bool = False
    allow_paths: tuple[str, ...] = ("data",)

    def env_allowed(self, name: str) -> bool:
        return name.startswith(ALLOWED_PREFIXES) or name in self.allow_env

    def root(self, base_dir: Path) -> Path:
        """The folder every source file must resolve inside (symbolic links followed)."""
        return Path(os.path.realpath(self.data_root or base_dir))


def embeds_variables(raw: str) -> bool:
    """``https://${MKTSYNC_TOKEN}.example.com``: a variable inside a longer value (not SQLite).

    A whole-value reference (``${VAR}``, ``${VAR:-default}``) hands the value to where
    the workflow meant it to go; one inside a URL can put it in a host name (DNS) or a
    path of the file's choosing.  ``sqlite:///${DIR}/x.db`` is a local, confined path.
    """
    references = list(REFERENCE.finditer(raw))
    if not references or raw.startswith("sqlite:///"):
        return False
    return len(references) > 1 or references[0].group(0) != raw.strip()


def whole_reference(raw: str) -> tuple[str, str | None] | None:
    """``(NAME, default or None)`` when ``raw`` is one ``${NAME}`` or ``${NAME:-default}``, alone."""
    match = REFERENCE.fullmatch(raw.strip())
    return (match.group(1), match.group(2)) if match else None


def not_allowed_message(name: str) -> str:
    return (
        f"environment variable {name} is not allowed; only MARKETO_* and MKTSYNC_* "
        f"variables are read, unless the command line says '--allow-env {name}'"
    )
