"""Folders and programs by id (asset API): where a program sits, so clients can walk up it.

``GET /rest/asset/v1/folder/{id}.json?type=Folder|Program`` answers one record with its
``parent`` (``{"id", "type"}``) and ``path``; ``GET /rest/asset/v1/program/{id}.json``
answers the program with its ``folder`` (``{"type", "value", "folderName"}``).

As on Adobe's *Folders* page, the tree's top is the "Marketing Activities" root (folder
type ``Zone``, ``parent`` null, path ``/Marketing Activities``) and under it the workspace
folder "Default" (``Zone``, path ``/Marketing Activities/Default``); a seeded folder or
program at the top sits in the workspace folder, so its path starts
``/Marketing Activities/Default/`` and its parent is the workspace.
"""

from __future__ import annotations

from typing import Any

from mktsync.emulator.call import Call
from mktsync.emulator.envelope import Outcome
from mktsync.emulator.world import Folder, Program, World, asset_time

_NOT_FOUND = "No assets found for the given search criteria."
_STAMP = asset_time()
_APP = "https://app-emulator.marketo.com"


def _chain(world: World, owner: Folder | Program) -> list[Folder | Program]:
    """``owner`` and every folder above it, nearest first, up to the root."""
    chain: list[Folder | Program] = [owner]
    parent_id = owner.folder_id if isinstance(owner, Program) else owner.parent_id
    while parent_id is not None and parent_id in world.folders:
        folder = world.folders[parent_id]
        chain.append(folder)
        parent_id = folder.parent_id
    return chain


def _parent(owner: Folder | Program) -> dict[str, Any] | None:
    parent_id = owner.folder_id if isinstance(owner, Program) else owner.parent_id
    return None if parent_id is None else {"id": parent_id, "type": "Folder"}


def _folder_type(owner: Folder | Program) -> str:
    if isinstance(owner, Program):
        return "Program"
    return "Zone" if owner.zone else "Marketing Folder"


def folder_json(world: World, owner: Folder | Program) -> dict[str, Any]:
    is_program = isinstance(owner, Program)
    zone = isinstance(owner, Folder) and owner.zone
    prefix = "PG" if is_program else "MF"
    return {
        "id": owner.id,
        "name": owner.name,
        "description": owner.description if isinstance(owner, Folder) else None,
        "createdAt": _STAMP,
        "updatedAt": _STAMP,
        "url": None if zone else f"{_APP}/#{prefix}{owner.id}A1",
        "folderId": {"id": owner.id, "type": "Program" if is_program else "Folder"},
        "folderType": _folder_type(owner),
        "parent": _parent(owner),
        "path": "/" + "/".join(level.name for level in reversed(_chain(world, owner))),
        "isArchive": False,
        "isSystem": zone,
        "accessZoneId": 1,
        "workspace": "Default",
    }


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
    # A program always sits in a folder (at the top: the workspace folder).
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
