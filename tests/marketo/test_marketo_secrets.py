"""No client secret or access token in logs (httpx/httpcore at DEBUG), reprs or exceptions."""

from __future__ import annotations

import logging

import pytest
from marketo_testing import CLIENT_SECRET, MakeClient, RecordingTransport

from mktsync.emulator import Emulator
from mktsync.errors import MarketoError


def test_nothing_secret_reaches_logs_reprs_or_errors(
    emu: Emulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    transport = RecordingTransport()
    caplog.set_level(logging.DEBUG)
    client = make_client(emu, transport=transport)
    errors: list[MarketoError] = []
    with caplog.at_level(logging.DEBUG):
        client.trigger_campaign(1234, [1], [("{{my.WebinarTitle}}", "Hi")])
        emu.revoke_tokens()  # forces a 601, a renewal and a resend
        client.find_leads_by_email(["lead1@example.com"])
        emu.script_fault("trigger", 1, "611")
        try:
            client.trigger_campaign(1234, [1])
        except MarketoError as exc:
            errors.append(exc)
        emu.script_fault("trigger", 1, "lost")
        try:
            client.trigger_campaign(1234, [1])
        except MarketoError as exc:
            errors.append(exc)
    tokens = {header.removeprefix("Bearer ") for _, header in transport.authorizations}
    assert len(tokens) == 2  # the test saw both tokens, so the checks below mean something
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # DEBUG really captured
    texts = [
        caplog.text,
        repr(client),
        repr(client._auth),
        repr(client.stats),
        *(str(e) for e in errors),
        *(repr(e) for e in errors),
    ]
    for text in texts:
        assert CLIENT_SECRET not in text
        for token in tokens:
            assert token not in text
            assert token.split(":")[0] not in text


def test_bad_credentials_error_does_not_echo_the_secret(
    emu: Emulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-but-still-secret-7731"
    client = make_client(emu, client_secret=secret)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MarketoError) as info:
        client.find_leads_by_id([1])
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in caplog.text
