"""Qualification rules: Marketo answers success and skips leads that do not qualify."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_testing import CLIENT, Api, error_code
from testing.seed import campaign, lead, program, seed

from mktsync.emulator import EmulatorOptions

WEEKLY = {"rule": "interval", "every": 1, "unit": "week"}
SEED = seed(
    client=CLIENT,
    programs=[program(1001, "Webinars")],
    campaigns=[
        campaign(1, "Once", program_id=1001, qualification={"rule": "once"}),
        campaign(2, "Every time", program_id=1001, qualification="any"),
        campaign(3, "Weekly", program_id=1001, qualification=WEEKLY),
        campaign(4, "Unsaid", program_id=1001),
    ],
    leads=[lead(10, "a@example.com"), lead(11, "b@example.com")],
)


@pytest.fixture
def qapi(make_api: Any) -> Api:
    api: Api = make_api(EmulatorOptions(), SEED)
    return api


def rule(api: Api, campaign_id: int) -> dict[str, Any]:
    [record] = api.get(f"/rest/asset/v1/smartCampaign/{campaign_id}.json").json()["result"]
    return {k: v for k, v in record.items() if k.startswith("qualificationRule")}


def test_smart_campaign_reports_its_rule(qapi: Api) -> None:
    assert rule(qapi, 1) == {"qualificationRuleType": "once"}
    assert rule(qapi, 2) == {"qualificationRuleType": "any"}
    assert rule(qapi, 3) == {
        "qualificationRuleType": "interval",
        "qualificationRuleInterval": 1,
        "qualificationRuleUnit": "week",
    }
    assert rule(qapi, 4) == {"qualificationRuleType": "any"}  # the emulator's default


@pytest.mark.parametrize(
    ("campaign_id", "second_ran", "reason"),
    [(1, [11], "qualification rule 'once'"), (2, [10, 11], None), (3, [11], "'interval' (1 week)")],
)
def test_re_triggered_leads_are_skipped_by_rule_with_the_same_success(
    qapi: Api, campaign_id: int, second_ran: list[int], reason: str | None
) -> None:
    first = qapi.trigger(campaign_id, [10]).json()
    second = qapi.trigger(campaign_id, [10, 11]).json()
    assert first["result"] == second["result"] == [{"id": campaign_id}]  # same success answer
    assert error_code(qapi.trigger(campaign_id, [10])) is None
    inspected = httpx.get(qapi.emu.base_url + "/_emulator/triggers").json()
    assert inspected[0]["ran"] == [10] and inspected[0]["skipped"] == []
    assert inspected[1]["lead_ids"] == [10, 11]
    assert inspected[1]["ran"] == second_ran
    skipped = inspected[1]["skipped"]
    if reason is None:
        assert skipped == []
    else:
        assert [s["id"] for s in skipped] == [10]
        assert reason in skipped[0]["reason"]


def test_seed_refuses_unknown_rules() -> None:
    from mktsync.emulator.seed import build_world

    base = {"programs": [{"id": 1, "name": "P"}]}
    bad_rule = {
        **base,
        "campaigns": [{"id": 1, "name": "C", "program_id": 1, "qualification": "twice"}],
    }
    with pytest.raises(ValueError, match="rule must be one of once, any, interval"):
        build_world(bad_rule)
    bad_unit = {"rule": "interval", "unit": "fortnight"}
    with pytest.raises(ValueError, match="unit must be one of"):
        build_world(
            {
                **base,
                "campaigns": [{"id": 1, "name": "C", "program_id": 1, "qualification": bad_unit}],
            }
        )
