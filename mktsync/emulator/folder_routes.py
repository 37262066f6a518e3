"""Folders and programs by id (asset API): where a program sits, so clients can walk up it.

``GET /rest/asset/v1/folder/{id}.json?type=Folder|Program`` answers one record with its
``parent`` (``{"id", "type"}``; null at the top); ``GET /rest/asset/v1/program/{id}.json``
answers the program with its ``folder`` (``{"type", "value", "folderName"}``).
"""

from __future__ import annotations

from typing import Any

from mktsync.emulator.call import Call
from mktsync.emulator.envelope import Outcome
from mktsync.emulator.world import Folder, Program, World, asset_time

_NOT_FOUND = "No assets found for the given search criteria."
_STAMP = asset_time()


def _path(folders: list[Folder]) -> str:
    return "/Marketing Activities/" + "/".join(f.name for f in reversed(folders))


def _parent(world: World, owner: Folder | Program) -> dict[str, Any] | None:
    parent_id = owner.folder_id if isinstance(owner, Program) else owner.parent_id
    return None if parent_id is None else {"id": parent_id, "type": "Folder"}


def folder_json(world: World, owner: Folder | Program) -> dict[str, Any]:
    is_program = isinstance(owner, Program)
    kind = "Program" if is_program else "Folder"
    chain = world.ancestors(owner) if isinstance(owner, Program) else _folder_chain(world, owner)
    path = _path(chain) + (f"/{owner.name}" if is_program else "")
    return {
        "id": owner.id,
        "name": owner.name,
        "description": None,
        "createdAt": _STAMP,
        "updatedAt": _STAMP,
        "url": None,
        "folderId": {"id": owner.id, "type": kind},
        "folderType": "Program" if is_program else "Marketing Folder",
        "parent": _parent(world, owner),
        "path": path,
        "isArchive": False,
        "isSystem": False,
        "accessZoneId": 1,
        "workspace": "Default",
    }


def _folder_chain(world: World, folder: Folder) -> list[Folder]:
    chain = [folder]
    while chain[-1].parent_id is not None and chain[-1].parent_id in world.folders:
        chain.append(world.folders[chain[-1].parent_id])
    return chain


def get_folder(call: Call, world: World) -> Outcome:
    kind = call.param("type", "Folder")
    owner: Folder | Program | None
    if kind == "Program":
        owner = world.programs.get(call.ids[0])
    elif kind == "Folder":
        owner = world.folders.get(call.ids[0])
    else:
        owner = None
    if owner is None:
        # Asset lookups that find nothing answer success with a warning and no result.
        return Outcome(result=None, warnings=[_NOT_FOUND])
    return Outcome(result=[folder_json(world, owner)])


def get_program(call: Call, world: World) -> Outcome:
    program = world.programs.get(call.ids[0])
    if program is None:
        return Outcome(result=None, warnings=[_NOT_FOUND])
    folder = world.folders.get(program.folder_id) if program.folder_id is not None else None
    return Outcome(
        result=[
            {
                "id": program.id,
                "name": program.name,
                "description": "",
                "createdAt": _STAMP,
                "updatedAt": _STAMP,
                "url": f"https://app-emulator.marketo.com/#PG{program.id}A1",
                "type": "Default",
                "channel": "Operational",
                "folder": None
                if folder is None
                else {"type": "Folder", "value": folder.id, "folderName": folder.name},
                "status": "",
                "workspace": "Default",
                "tags": [],
                "costs": None,
            }
        ]
    )
