"""A widely used third-party client, marketorestpython, drives the emulator over a socket.

It builds every URL from ``MarketoClient.host`` (``https://{munchkin}.mktorest.com``), a
plain attribute, so pointing it at the emulator is one assignment.  What it sends is its
own: query-string credentials on identity, ``Authorization: Bearer`` on API calls, JSON
bodies for triggers and syncs, ``_method=GET`` in a form body for lead lookups,
``{{my.X}}`` token names built from ``my.X`` keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marketorestpython.client as marketorestpython  # the test extra installs it
import pytest
from testing.seed import campaign, folder, lead, program, seed, token

from mktsync.emulator import Emulator, EmulatorOptions, serve

SEED = seed(
    client=("mrp-client", "mrp-secret-value"),
    folders=[
        folder(10, "Marketing", token("Brand", "Acme")),
        folder(11, "Events", parent_id=10),
    ],
    programs=[program(1001, "Webinars", token("WebinarTitle", ""), folder_id=11)],
    campaigns=[
        campaign(1234, "Webinar reminder", type="trigger", program_id=1001),
        campaign(1235, "Monthly batch", type="batch", program_id=1001),
    ],
    leads=[
        lead(318592, "ada@example.com", firstName="Ada"),
        lead(318593, "alan@example.com", firstName="Alan"),
    ],
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with serve(seed=SEED, options=EmulatorOptions()) as emulator:
        yield emulator


@pytest.fixture
def mc(emu: Emulator) -> Any:
    emu.reset()
    client = marketorestpython.MarketoClient(
        "000-EMU-000", "mrp-client", "mrp-secret-value", requests_timeout=(5, 10)
    )
    client.host = emu.base_url  # instead of https://000-EMU-000.mktorest.com
    return client


def endpoints(emu: Emulator) -> list[str]:
    return [str(e["endpoint"]) for e in emu.journal()]


def test_authenticate(mc: Any, emu: Emulator) -> None:
    mc.authenticate()
    assert mc.token and mc.token_type == "bearer" and 3500 < mc.expires_in <= 3600
    assert endpoints(emu) == ["identity"]


def test_get_campaign_by_id(mc: Any) -> None:
    [campaign] = mc.execute(method="get_campaign_by_id", id=1234)
    assert (campaign["id"], campaign["type"], campaign["programId"]) == (1234, "trigger", 1001)
    [smart] = mc.execute(method="get_smart_campaign_by_id", id=1234)
    assert smart["isRequestable"] is True and smart["qualificationRuleType"] == "any"


def test_request_campaign_with_tokens_on_the_program_and_a_parent_folder(
    mc: Any, emu: Emulator
) -> None:
    tokens = {"my.WebinarTitle": "Intro", "my.Brand": "Acme EU"}
    assert mc.execute(method="request_campaign", id=1234, leads=[318592, 318593], tokens=tokens)
    [sent] = emu.triggers()
    assert sent["lead_ids"] == [318592, 318593]
    assert sent["tokens"] == {"{{my.WebinarTitle}}": "Intro", "{{my.Brand}}": "Acme EU"}
    with pytest.raises(Exception, match="1003"):
        mc.execute(method="request_campaign", id=1234, leads=[318592], tokens={"my.Nope": "x"})


def test_schedule_campaign(mc: Any, emu: Emulator) -> None:
    tokens = {"my.WebinarTitle": "Monthly"}
    assert mc.execute(method="schedule_campaign", id=1235, tokens=tokens)
    [scheduled] = emu.schedules()
    assert scheduled["campaign_id"] == 1235
    assert scheduled["tokens"] == {"{{my.WebinarTitle}}": "Monthly"}


def test_get_leads_by_filter_sends_method_get_in_the_form_body(mc: Any, emu: Emulator) -> None:
    leads = mc.execute(
        method="get_multiple_leads_by_filter_type",
        filterType="email",
        filterValues=["ADA@example.com", "alan@example.com", "nobody@example.com"],
        fields=["email", "firstName"],
    )
    assert sorted((lead["id"], lead["firstName"]) for lead in leads) == [
        (318592, "Ada"),
        (318593, "Alan"),
    ]
    [entry] = [e for e in emu.journal() if e["endpoint"] == "leads_get"]
    assert entry["method"] == "POST" and entry["query"] == {}
    assert entry["body"]["_method"] == "GET"


def test_sync_leads(mc: Any, emu: Emulator) -> None:
    result = mc.execute(
        method="create_update_leads",
        leads=[{"email": "ada@example.com", "lastName": "Lovelace"}, {"email": "new@example.com"}],
        action="createOrUpdate",
        lookupField="email",
    )
    assert [r["status"] for r in result] == ["updated", "created"]
    by_email = {lead["email"]: lead for lead in emu.leads()}
    assert by_email["ada@example.com"]["lastName"] == "Lovelace"


def test_get_tokens_of_a_program_and_a_folder(mc: Any) -> None:
    [program] = mc.execute(method="get_tokens", id=1001, folderType="Program")
    assert program["folder"] == {"type": "Program", "value": 1001}
    assert [t["name"] for t in program["tokens"]] == ["WebinarTitle"]
    [folder] = mc.execute(method="get_tokens", id=10, folderType="Folder")
    assert [(t["name"], t["value"]) for t in folder["tokens"]] == [("Brand", "Acme")]


def test_get_folder(mc: Any) -> None:
    [program] = mc.execute(method="get_folder_by_id", id=1001, type="Program")
    assert program["name"] == "Webinars" and program["parent"] == {"id": 11, "type": "Folder"}
    [events] = mc.execute(method="get_folder_by_id", id=11, type="Folder")
    assert events["parent"] == {"id": 10, "type": "Folder"}
    assert events["path"] == "/Marketing Activities/Default/Marketing/Events"
