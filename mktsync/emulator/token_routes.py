"""Program My Tokens (asset API): get, create-or-update (form-encoded), delete."""

from __future__ import annotations

import re
from typing import Any

from mktsync.emulator.call import Call
from mktsync.emulator.envelope import ApiError, Outcome
from mktsync.emulator.seed import TOKEN_TYPES
from mktsync.emulator.world import Program, World

MAX_NAME = 50
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _program(call: Call, world: World) -> Program:
    folder_type = call.param("folderType", "Folder")
    if folder_type not in ("Folder", "Program"):
        raise ApiError("1003", f"Invalid folderType '{folder_type}'")
    program = world.programs.get(call.ids[0])
    if program is None:
        raise ApiError("710", "Parent Folder Not Found")
    if folder_type != "Program":
        # The emulator knows only programs; asking for one as a Folder is the wrong type.
        raise ApiError("711", "Incompatible Folder Type")
    return program


def _token_json(program: Program, name: str) -> dict[str, Any]:
    token = program.tokens[name]
    return {
        "name": name,
        "type": token["type"],
        "value": token["value"],
        "computedUrl": f"https://app-emulator.marketo.com/#PG{program.id}A1",
    }


def _folder(program: Program, names: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "folder": {"type": "Program", "value": program.id},
            "tokens": [_token_json(program, n) for n in names],
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
