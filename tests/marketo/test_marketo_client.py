"""The client against the emulator over a real socket: auth, retries, typed errors, methods."""

from __future__ import annotations

import pytest
from marketo_testing import (
    CLIENT_ID,
    CLIENT_SECRET,
    FAST_RETRY,
    MakeClient,
    RecordingTransport,
    api_entries,
    seed,
)
from testing.clock import FakeClock

from mktsync.config.model import Limits
from mktsync.emulator import Emulator, EmulatorOptions, serve
from mktsync.errors import AuthError, MarketoError, QuotaExceeded
from mktsync.marketo import (
    BatchTooLarge,
    MarketoClient,
    NotFound,
    OutcomeUnknown,
    RequestFailed,
)


def codes_of(emu: Emulator, endpoint: str) -> list[list[str]]:
    return [e["codes"] for e in api_entries(emu, endpoint)]


def test_trigger_sends_leads_and_tokens(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    result = client.trigger_campaign(1234, [1, 2], [("{{my.WebinarTitle}}", "Intro")])
    (trigger,) = emu.triggers()
    assert trigger["lead_ids"] == [1, 2]
    assert trigger["tokens"] == {"{{my.WebinarTitle}}": "Intro"}
    assert result.request_id == trigger["request_id"] and result.campaign_id == 1234


def test_trigger_limits_are_enforced_before_sending(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    with pytest.raises(BatchTooLarge, match="at most 100 leads"):
        client.trigger_campaign(1234, list(range(1, 102)))
    tokens = [(f"{{{{my.T{i}}}}}", "v") for i in range(101)]
    with pytest.raises(BatchTooLarge, match="at most 100 tokens"):
        client.trigger_campaign(1234, [1], tokens)
    with pytest.raises(ValueError, match=r"\{\{my\.Name\}\}"):
        client.trigger_campaign(1234, [1], [("my.WebinarTitle", "x")])
    with pytest.raises(BatchTooLarge, match="at least one"):
        client.trigger_campaign(1234, [])
    assert emu.journal() == []  # nothing left this machine, not even identity


def test_expired_token_mid_run_is_renewed_and_the_request_resent_with_the_new_token() -> None:
    transport = RecordingTransport()
    # The client's clock stands still, so it believes its token fresh and sends it after
    # Marketo's expiry (the emulator's clock moved on): only the 602 answer can tell it.
    marketo_clock = FakeClock()
    with (
        serve(seed=seed(), options=EmulatorOptions(token_ttl=2.0), clock=marketo_clock) as emu,
        MarketoClient(
            emu.base_url,
            CLIENT_ID,
            CLIENT_SECRET,
            limits=Limits(),
            transport=transport,
            retry=FAST_RETRY,
            renew_margin=0.0,
            clock=lambda: 0.0,
        ) as client,
    ):
        client.find_leads_by_id([1])
        marketo_clock.advance(2.1)
        assert client.find_leads_by_id([1]) == {1}
        journal = [(e["endpoint"], e["codes"]) for e in emu.journal()]
    assert journal == [
        ("identity", []),
        ("leads_get", []),
        ("leads_get", ["602"]),
        ("identity", []),
        ("leads_get", []),
    ]
    headers = [h for path, h in transport.authorizations if path == "/rest/v1/leads.json"]
    assert headers[0] == headers[1] != headers[2]  # the resend carried the NEW token
    assert all(h.startswith("Bearer ") for h in headers)


def test_revoked_token_is_renewed_although_the_cache_thinks_it_fresh(
    emu: Emulator, make_client: MakeClient
) -> None:
    client = make_client(emu)
    client.trigger_campaign(1234, [1])
    emu.revoke_tokens()
    client.trigger_campaign(1234, [2])
    assert [(e["endpoint"], e["codes"]) for e in emu.journal()] == [
        ("identity", []),
        ("trigger", []),
        ("trigger", ["601"]),
        ("identity", []),
        ("trigger", []),
    ]
    assert [t["lead_ids"] for t in emu.triggers()] == [[1], [2]]
    assert client.stats.token_renewals == 2


def test_bad_credentials_raise_auth_error(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu, client_secret="wrong-secret")
    with pytest.raises(AuthError, match="bad client id or secret"):
        client.trigger_campaign(1234, [1])
    assert [e["endpoint"] for e in emu.journal()] == ["identity"]


@pytest.mark.parametrize("fault", ["606", "615", "604", "608", "713", "502", "html500"])
def test_retryable_faults_are_retried_then_succeed(
    emu: Emulator, make_client: MakeClient, fault: str
) -> None:
    client = make_client(emu)
    emu.script_fault("trigger", 1, fault)
    client.trigger_campaign(1234, [1])
    assert len(api_entries(emu, "trigger")) == 2
    assert len(emu.triggers()) == 1
    reason = "500" if fault == "html500" else fault
    assert client.stats.retries == {reason: 1}


def test_retries_are_bounded(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    emu.set_faults("606=1.0")
    with pytest.raises(MarketoError) as info:
        client.find_leads_by_id([1])
    assert info.value.code == "606"
    assert len(api_entries(emu, "leads_get")) == 4  # FAST_RETRY.max_attempts
    assert client.stats.retries == {"606": 3}


@pytest.mark.parametrize("fault", ["611"])
def test_611_is_not_retried(emu: Emulator, make_client: MakeClient, fault: str) -> None:
    client = make_client(emu)
    emu.script_fault("trigger", 1, fault)
    with pytest.raises(RequestFailed) as info:
        client.trigger_campaign(1234, [1])
    assert info.value.code == "611" and info.value.request_id
    assert len(api_entries(emu, "trigger")) == 1
    assert client.stats.retries == {}


def test_1003_batch_campaign_is_not_retried(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    with pytest.raises(RequestFailed) as info:
        client.trigger_campaign(2000, [1])
    assert info.value.code == "1003"
    assert codes_of(emu, "trigger") == [["1003"]]


def test_daily_quota_raises_quota_exceeded_at_once() -> None:
    with serve(seed=seed(), options=EmulatorOptions(daily_quota=1)) as emu:
        with MarketoClient(
            emu.base_url, CLIENT_ID, CLIENT_SECRET, limits=Limits(), retry=FAST_RETRY
        ) as client:
            client.trigger_campaign(1234, [1])
            with pytest.raises(QuotaExceeded) as info:
                client.trigger_campaign(1234, [2])
            assert info.value.exit_code == 4
            assert client.stats.retries == {}
        assert codes_of(emu, "trigger") == [[], ["607"]]


@pytest.mark.parametrize("fault", ["lost", "reset"])
def test_lost_trigger_is_unknown_and_not_resent(
    emu: Emulator, make_client: MakeClient, fault: str
) -> None:
    client = make_client(emu)
    emu.script_fault("trigger", 1, fault)
    with pytest.raises(OutcomeUnknown):
        client.trigger_campaign(1234, [1])
    assert len(api_entries(emu, "trigger")) == 1
    assert client.stats.retries == {}


@pytest.mark.parametrize("fault", ["lost", "reset"])
def test_lost_read_is_retried(emu: Emulator, make_client: MakeClient, fault: str) -> None:
    client = make_client(emu)
    emu.script_fault("leads_get", 1, fault)
    assert client.find_leads_by_id([1, 2, 99]) == {1, 2}
    assert len(api_entries(emu, "leads_get")) == 2
    assert client.stats.retries == {"read": 1}


def test_unknown_lead_create_is_not_resent(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    emu.script_fault("leads_sync", 1, "lost")
    with pytest.raises(OutcomeUnknown):
        client.create_leads([{"email": "new@example.com"}])
    assert len(api_entries(emu, "leads_sync")) == 1


# -- reads -------------------------------------------------------------------------------


def test_campaign_records(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    campaign = client.get_campaign(1234)
    assert campaign is not None
    assert (campaign.id, campaign.type, campaign.active, campaign.program_id) == (
        1234,
        "trigger",
        True,
        1001,
    )
    smart = client.get_smart_campaign(4000)
    assert smart is not None
    assert (smart.is_active, smart.is_requestable, smart.parent_program_id) == (True, False, 1001)
    assert client.get_campaign(9999) is None
    assert client.get_smart_campaign(9999) is None
    assert [t.name for t in client.get_program_tokens(1001)] == ["WebinarTitle", "JoinLink"]


def test_tokens_of_a_missing_program(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    with pytest.raises(NotFound):
        client.get_program_tokens(5555)


def test_lost_identity_answer_during_renewal_is_retried(
    emu: Emulator, make_client: MakeClient
) -> None:
    client = make_client(emu)
    client.find_leads_by_id([1])
    emu.revoke_tokens()
    emu.script_fault("identity", 1, "lost")  # the renewal's answer never arrives
    assert client.find_leads_by_id([1]) == {1}
    assert [(e["endpoint"], e["codes"]) for e in emu.journal()][2:] == [
        ("leads_get", ["601"]),
        ("identity", []),
        ("leads_get", ["601"]),  # the retry starts over: the cached token is still the bad one
        ("identity", []),
        ("leads_get", []),
    ]
