"""My Tokens of folders and programs (asset API): get, create-or-update (form-encoded), delete.

``folderType`` says which id space the path id is in: ``Folder`` (the default) or ``Program``.
A folder or program answers with its *own* tokens; inherited ones are read from its parents
(``folder_routes``), which is how a client finds everything a campaign may use.
"""

from __future__ import annotations

import re
from typing import Any

from mktsync.emulator.call import Call
from mktsync.emulator.envelope import ApiError, Outcome
from mktsync.emulator.seed import TOKEN_TYPES
from mktsync.emulator.world import Folder, Program, World

MAX_NAME = 50
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _program(call: Call, world: World) -> Folder | Program:
    """The folder or program the path names (``folderType`` picks which)."""
    folder_type = call.param("folderType", "Folder")
    if folder_type not in ("Folder", "Program"):
        raise ApiError("1003", f"Invalid folderType '{folder_type}'")
    if folder_type == "Folder":
        folder = world.folders.get(call.ids[0])
        if folder is not None:
            return folder
        if call.ids[0] in world.programs:
            # A program id asked for as a Folder: the wrong type of folder.
            raise ApiError("711", "Incompatible Folder Type")
        raise ApiError("710", "Parent Folder Not Found")
    program = world.programs.get(call.ids[0])
    if program is None:
        raise ApiError("710", "Parent Folder Not Found")
    return program


def _kind(owner: Folder | Program) -> str:
    return "Program" if isinstance(owner, Program) else "Folder"


def _token_json(owner: Folder | Program, name: str) -> dict[str, Any]:
    token = owner.tokens[name]
    prefix = "PG" if isinstance(owner, Program) else "MF"
    return {
        "name": name,
        "type": token["type"],
        "value": token["value"],
        "computedUrl": f"https://app-emulator.marketo.com/#{prefix}{owner.id}A1",
    }


def _folder(owner: Folder | Program, names: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "folder": {"type": _kind(owner), "value": owner.id},
            "tokens": [_token_json(owner, n) for n in names],
        }
    ]


def get_tokens(call: Call, world: World) -> Outcome:
    program = _program(call, world)
    return Outcome(result=_folder(program, list(program.tokens)))


def _required(call: Call, name: str) -> str:
    value = call.param(name)
    if value is None:
        raise ApiError("701", f"{name} cannot be blank")
    return value


def _check_value(kind: str, value: str) -> None:
    ok = True
    if kind == "date":
        ok = bool(_DATE.match(value))
    elif kind == "number":
        try:
            float(value)
        except ValueError:
            ok = False
    elif kind == "score":
        ok = bool(re.fullmatch(r"[+-]?\d+", value)) and -(2**31) <= int(value) < 2**31
    if not ok:
        raise ApiError("1003", f"Invalid value for token type '{kind}'")


def post_token(call: Call, world: World) -> Outcome:
    name, kind = _required(call, "name"), _required(call, "type")
    # value may legitimately be empty, but the parameter itself is required.
    if "value" not in call.params:
        raise ApiError("701", "value cannot be blank")
    value = call.params["value"]
    _required(call, "folderType")
    program = _program(call, world)
    if len(name) > MAX_NAME:
        raise ApiError("1003", f"Token name longer than {MAX_NAME} characters")
    if kind not in TOKEN_TYPES:
        raise ApiError("1003", f"Invalid token type '{kind}'")
    _check_value(kind, value)
    program.tokens[name] = {"type": kind, "value": value}
    return Outcome(result=_folder(program, [name]))


def delete_token(call: Call, world: World) -> Outcome:
    name, kind = _required(call, "name"), _required(call, "type")
    _required(call, "folderType")
    program = _program(call, world)
    token = program.tokens.get(name)
    if token is None or token["type"] != kind:
        raise ApiError("702", f"Token '{name}' of type '{kind}' not found")
    del program.tokens[name]
    return Outcome(result=[{"id": program.id}])
