"""The client against the emulator's protocol details: JSON-envelope 5xx, gzip."""

from __future__ import annotations

import httpx
import pytest
from marketo_testing import MakeClient, api_entries, seed

from mktsync.emulator import Emulator, EmulatorOptions, serve
from mktsync.marketo import OutcomeUnknown, Transient


@pytest.mark.parametrize(("fault", "code"), [("json502", "502"), ("json500", "500")])
def test_json_envelope_5xx_is_retried_on_reads(
    emu: Emulator, make_client: MakeClient, fault: str, code: str
) -> None:
    client = make_client(emu)
    emu.script_fault("leads_get", 1, fault)
    emu.script_fault("smart_campaign", 1, fault)
    assert client.find_leads_by_email(["lead3@example.com"]) == {"lead3@example.com": 3}
    assert client.preflight(1234).ok
    assert len(api_entries(emu, "leads_get")) == 2
    assert len(api_entries(emu, "smart_campaign")) == 2
    assert client.stats.retries == {code: 2}


def test_json_envelope_5xx_is_transient(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    emu.set_faults("json500=1.0")
    with pytest.raises(Transient) as caught:
        client.find_leads_by_id([3])
    assert caught.value.code == "500"


@pytest.mark.parametrize("fault", ["json502", "json500"])
def test_json_envelope_5xx_on_a_trigger_is_unknown_not_resent(
    emu: Emulator, make_client: MakeClient, fault: str
) -> None:
    client = make_client(emu)
    emu.script_fault("trigger", 1, fault)
    with pytest.raises(OutcomeUnknown, match="may have carried the request out"):
        client.trigger_campaign(1234, [3], [("{{my.WebinarTitle}}", "Q3")])
    assert len(api_entries(emu, "trigger")) == 1  # sent once, never blindly again
    assert client.stats.retries == {}


class Recorder(httpx.HTTPTransport):
    """A real transport that keeps each API call's Accept-Encoding and Content-Encoding."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.seen.append(
            (
                request.url.path,
                request.headers.get("accept-encoding", ""),
                response.headers.get("content-encoding", ""),
            )
        )
        return response


def test_client_asks_for_gzip_and_decodes_it(make_client: MakeClient) -> None:
    leads = [{"id": i, "email": f"lead{i}@example.com"} for i in range(1, 61)]
    recorder = Recorder()
    with serve(seed=seed(leads=leads), options=EmulatorOptions()) as emu:
        client = make_client(emu, transport=recorder)
        emails = [lead["email"] for lead in leads]
        assert len(client.find_leads_by_email(emails)) == 60
    [(path, accept, encoding)] = [s for s in recorder.seen if s[0] == "/rest/v1/leads.json"]
    assert "gzip" in accept
    assert encoding == "gzip"  # 60 leads pass Adobe's 1024-byte threshold
