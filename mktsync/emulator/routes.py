"""The route table: which path and method reach which endpoint, and what body it takes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mktsync.emulator import (
    activity_routes,
    activity_types,
    campaign_routes,
    folder_routes,
    lead_fields,
    lead_routes,
    token_routes,
    usage_routes,
)
from mktsync.emulator.call import Call
from mktsync.emulator.envelope import ApiError, Outcome
from mktsync.emulator.world import World

BodyKind = Literal["none", "json", "optional_json", "form"]
Handler = Callable[[Call, World], Outcome]


@dataclass(frozen=True, kw_only=True)
class Route:
    """``Route(name="trigger", method="POST", pattern=..., handler=..., body="json")``."""

    name: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    body: BodyKind = "none"
    asset: bool = False
    # Long GET queries may be sent as POST + ?_method=GET with a form body.
    method_override: bool = False


def _p(text: str) -> re.Pattern[str]:
    return re.compile("^" + text.replace(".", r"\.").replace("{id}", r"(\d+)") + "$")


ROUTES = (
    Route(name="campaign", method="GET", pattern=_p("/rest/v1/campaigns/{id}.json"),
          handler=campaign_routes.get_campaign),
    Route(name="campaigns", method="GET", pattern=_p("/rest/v1/campaigns.json"),
          handler=campaign_routes.list_campaigns, method_override=True),
    Route(name="smart_campaign", method="GET", pattern=_p("/rest/asset/v1/smartCampaign/{id}.json"),
          handler=campaign_routes.smart_campaign, asset=True),
    Route(name="trigger", method="POST", pattern=_p("/rest/v1/campaigns/{id}/trigger.json"),
          handler=campaign_routes.trigger, body="json"),
    Route(name="schedule", method="POST", pattern=_p("/rest/v1/campaigns/{id}/schedule.json"),
          handler=campaign_routes.schedule, body="optional_json"),
    Route(name="leads_get", method="GET", pattern=_p("/rest/v1/leads.json"),
          handler=lead_routes.get_leads, method_override=True),
    Route(name="leads_describe2", method="GET", pattern=_p("/rest/v1/leads/describe2.json"),
          handler=lead_fields.describe2),
    Route(name="leads_describe", method="GET", pattern=_p("/rest/v1/leads/describe.json"),
          handler=lead_fields.describe),
    Route(name="leads_sync", method="POST", pattern=_p("/rest/v1/leads.json"),
          handler=lead_routes.sync_leads, body="json"),
    Route(name="tokens_get", method="GET", pattern=_p("/rest/asset/v1/folder/{id}/tokens.json"),
          handler=token_routes.get_tokens, asset=True),
    Route(name="tokens_post", method="POST", pattern=_p("/rest/asset/v1/folder/{id}/tokens.json"),
          handler=token_routes.post_token, body="form", asset=True),
    Route(name="tokens_delete", method="POST",
          pattern=_p("/rest/asset/v1/folder/{id}/tokens/delete.json"),
          handler=token_routes.delete_token, body="form", asset=True),
    Route(name="folder", method="GET", pattern=_p("/rest/asset/v1/folder/{id}.json"),
          handler=folder_routes.get_folder, asset=True),
    Route(name="program", method="GET", pattern=_p("/rest/asset/v1/program/{id}.json"),
          handler=folder_routes.get_program, asset=True),
    Route(name="paging_token", method="GET", pattern=_p("/rest/v1/activities/pagingtoken.json"),
          handler=activity_routes.paging_token),
    Route(name="activities", method="GET", pattern=_p("/rest/v1/activities.json"),
          handler=activity_routes.activities),
    Route(name="activity_types", method="GET", pattern=_p("/rest/v1/activities/types.json"),
          handler=activity_types.activity_types),
    Route(name="usage", method="GET", pattern=_p("/rest/v1/stats/usage.json"),
          handler=usage_routes.usage),
    Route(name="usage_last7days", method="GET", pattern=_p("/rest/v1/stats/usage/last7days.json"),
          handler=usage_routes.last7days),
)  # fmt: skip


def match(method: str, path: str, override: str | None) -> tuple[Route, tuple[int, ...]]:
    """The route for a request; ApiError 610 (no such path) or 605 (wrong method)."""
    wrong_method = False
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is None:
            continue
        ids = tuple(int(g) for g in found.groups())
        if route.method_override and method == "POST" and override == "GET":
            return route, ids
        if method == route.method:
            return route, ids
        wrong_method = True
    if wrong_method:
        raise ApiError("605", f"Request method '{method}' not supported")
    raise ApiError("610")
