"""Emulator seeds: what a Marketo instance holds when a test starts (``docs/emulator.md``).

Two ways to get one, both plain dicts the emulator's ``serve(seed=...)`` takes:

- ``seed(...)`` states an instance by hand: the API user, folders, programs with their My
  Tokens, campaigns and leads, each section only if given;
- ``project_seed(path)`` is the instance under which every campaign of a project can be
  applied (``mktsync apply --emulator`` seeds the same way), with sections replaced.

>>> seed(
...     client=("abc", "s3cret"),
...     programs=[program(1001, "Webinars", token("WebinarTitle", ""))],
...     campaigns=[campaign(1234, "Reminder", program_id=1001)],
...     leads=[lead(1, "ann@example.com", firstName="Ann")],
... )["programs"]
[{'id': 1001, 'name': 'Webinars', 'tokens': [{'name': 'WebinarTitle', 'type': 'text', 'value': ''}]}]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mktsync.cli.demo import seed_for
from mktsync.config import load_config
from mktsync.emulator import Emulator, EmulatorOptions, serve

Seed = dict[str, Any]
Entry = dict[str, Any]


def seed(
    *,
    client: tuple[str, str] | None = None,
    folders: Sequence[Entry] | None = None,
    programs: Sequence[Entry] | None = None,
    campaigns: Sequence[Entry] | None = None,
    leads: Sequence[Entry] | None = None,
    **sections: Any,
) -> Seed:
    """A seed of the sections given, in the seed file's order; ``client`` is the API user
    ``(client_id, client_secret)`` (none: the emulator's documented demo client);
    ``sections`` are the others (``lead_fields``, ``faults``) or replace one."""
    found: Seed = {}
    if client is not None:
        found["clients"] = [{"client_id": client[0], "client_secret": client[1]}]
    for name, section in (
        ("folders", folders),
        ("programs", programs),
        ("campaigns", campaigns),
        ("leads", leads),
    ):
        if section is not None:
            found[name] = list(section)
    found.update(sections)
    return found


def token(name: str, value: str | None = None, *, type: str = "text") -> Entry:
    """A My Token; without ``value`` it is declared and holds none."""
    return {"name": name, "type": type, **({} if value is None else {"value": value})}


def program(id: int, name: str, *tokens: Entry, **settings: Any) -> Entry:
    """A program (``folder_id=``, ``nested=``) and its own My Tokens."""
    return {"id": id, "name": name, **settings, **({"tokens": list(tokens)} if tokens else {})}


def folder(id: int, name: str, *tokens: Entry, **settings: Any) -> Entry:
    """A folder (``parent_id=``) and the My Tokens its programs inherit."""
    return program(id, name, *tokens, **settings)


def campaign(id: int, name: str, **settings: Any) -> Entry:
    """A smart campaign: ``program_id=``, and ``type``, ``active``, ``requestable``,
    ``qualification`` when the test says (the emulator's defaults otherwise)."""
    return {"id": id, "name": name, **settings}


def lead(id: int, email: str, **fields: Any) -> Entry:
    return {"id": id, "email": email, **fields}


def project_seed(config_path: Path, *, environment: str | None = None, **sections: Any) -> Seed:
    """The seed under which every campaign of the project can be applied (as ``environment``
    sees them: its campaign ids); ``sections`` replace the seed's own (``clients=...``,
    ``leads=...``)."""
    found = seed_for(load_config(config_path, environment=environment))
    found.update(sections)
    return found


@contextmanager
def serve_project(
    config_path: Path,
    options: EmulatorOptions | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    environment: str | None = None,
    **sections: Any,
) -> Iterator[Emulator]:
    """An emulator seeded for the project (``project_seed``), served for the block."""
    found = project_seed(config_path, environment=environment, **sections)
    with serve(seed=found, options=options or EmulatorOptions(), clock=clock) as emu:
        yield emu
