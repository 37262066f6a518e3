"""My Tokens a campaign may use: its program's own, and those inherited from parent folders.

Adobe: a trigger's tokens must be "available in a parent program or folder".  A program's
token list (``GET /rest/asset/v1/folder/{id}/tokens.json?folderType=Program``) holds only the
tokens defined on it, so a token on an enclosing folder is found by walking up:
``GET /rest/asset/v1/folder/{id}.json?type=Program|Folder`` names each level's ``parent``.

``TokenWalks`` walks each program once per client (one run) and only as far as the tokens
asked for require: tokens all on the program cost one call; each folder level two more
(its record, to find the parent, and its tokens).  A token found nowhere makes the walk go
to the top, so the refusal can list every token that is available.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mktsync.marketo.codes import NotFound
from mktsync.marketo.transport import Caller

FolderRef = tuple[str, int]  # ("Program" | "Folder", id)


@dataclass(frozen=True, kw_only=True)
class TokenLevel:
    """One step of the walk: a program or folder and the bare names of its own My Tokens."""

    kind: str
    id: int
    tokens: frozenset[str]
    name: str | None = None

    def label(self) -> str:
        what = "program" if self.kind == "Program" else "folder"
        return f"{what} {self.id}" + (f" ({self.name})" if self.name else "")


@dataclass(kw_only=True)
class _Walk:
    levels: list[TokenLevel] = field(default_factory=list)
    next: FolderRef | None = None  # the level to read next; None when the top is reached
    parent_known: bool = True  # whether ``next`` is already known for the last level
    calls: int = 0

    def held(self) -> set[str]:
        return set().union(*(lvl.tokens for lvl in self.levels))


@dataclass(frozen=True, kw_only=True)
class TokenCheck:
    """What a walk found for one campaign's tokens."""

    missing: list[str]  # bare names defined on no level
    levels: list[TokenLevel]  # the levels read, nearest first
    complete: bool  # True when the walk reached the top
    calls: int  # calls this check made (0 when the cached walk already answered)

    def available(self) -> list[str]:
        return sorted(set().union(*(lvl.tokens for lvl in self.levels)))


class TokenWalks:
    """Per-program walks, cached for the life of the client (one run)."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller
        self._walks: dict[int, _Walk] = {}
        self._lock = threading.Lock()

    def check(self, program_id: int, wanted: Sequence[str]) -> TokenCheck:
        """Walk up from ``program_id`` until every name in ``wanted`` is found, or to the top.

        Raises ``NotFound`` when the program itself does not exist.
        """
        with self._lock:
            walk = self._walks.get(program_id)
            if walk is None:
                walk = _Walk(next=("Program", int(program_id)))
                self._walks[program_id] = walk
            before = walk.calls
            need = set(wanted)
            try:
                while need - walk.held():
                    if not self._step(walk):
                        break
            except NotFound:
                if not walk.levels:
                    del self._walks[program_id]
                    raise
                walk.next = None
            return TokenCheck(
                missing=[n for n in dict.fromkeys(wanted) if n not in walk.held()],
                levels=list(walk.levels),
                complete=walk.next is None and walk.parent_known,
                calls=walk.calls - before,
            )

    def _step(self, walk: _Walk) -> bool:
        """Read one more level (its parent first, if not yet known); False at the top."""
        if not walk.parent_known:
            last = walk.levels[-1]
            walk.next, name = self._parent(walk, (last.kind, last.id))
            walk.levels[-1] = TokenLevel(
                kind=last.kind, id=last.id, tokens=last.tokens, name=name or last.name
            )
            walk.parent_known = True
        if walk.next is None:
            return False
        kind, folder_id = walk.next
        walk.levels.append(
            TokenLevel(kind=kind, id=folder_id, tokens=self._tokens(walk, kind, folder_id))
        )
        walk.next = None
        walk.parent_known = False
        return True

    def _tokens(self, walk: _Walk, kind: str, folder_id: int) -> frozenset[str]:
        walk.calls += 1
        body = self._caller.call(
            "tokens_get",
            "GET",
            f"/rest/asset/v1/folder/{int(folder_id)}/tokens.json",
            params={"folderType": kind},
            idempotent=True,
        )
        record = _first(body) or {}
        return frozenset(
            str(t.get("name", "")) for t in record.get("tokens") or [] if isinstance(t, Mapping)
        )

    def _parent(self, walk: _Walk, ref: FolderRef) -> tuple[FolderRef | None, str | None]:
        walk.calls += 1
        kind, folder_id = ref
        body = self._caller.call(
            "folder",
            "GET",
            f"/rest/asset/v1/folder/{int(folder_id)}.json",
            params={"type": kind},
            idempotent=True,
        )
        record = _first(body)  # "not found": success with a warning and no result
        if record is None:
            return None, None
        name = record.get("name")
        parent = record.get("parent")
        if not isinstance(parent, Mapping) or parent.get("id") is None:
            return None, str(name) if name else None
        parent_kind = "Program" if parent.get("type") == "Program" else "Folder"
        return (parent_kind, int(parent["id"])), str(name) if name else None


def _first(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    result = body.get("result")
    if isinstance(result, list) and result and isinstance(result[0], Mapping):
        return result[0]
    return None
