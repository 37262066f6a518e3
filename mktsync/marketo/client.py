"""``MarketoClient``: the calls mktsync makes to Marketo, as typed methods.

>>> with MarketoClient(base_url, client_id, secret, limits=Limits()) as client:  # doctest: +SKIP
...     client.preflight(1234, ["{{my.WebinarTitle}}"])
...     client.trigger_campaign(1234, [318592, 318593], [("{{my.WebinarTitle}}", "Intro")])

Credentials arrive as plain strings (the caller resolves ``${VAR}``); they live only in
the auth flow and never appear in a repr, a log line or an exception.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from mktsync.config.model import Config, Limits
from mktsync.errors import EnvironmentVariableError
from mktsync.marketo import activities, fields, leads
from mktsync.marketo.auth import MarketoAuth, SendState
from mktsync.marketo.codes import NotFound
from mktsync.marketo.folders import TokenCheck, TokenWalks
from mktsync.marketo.leads import int_or_none
from mktsync.marketo.limits import CallLimiter, Limiter
from mktsync.marketo.records import (
    CampaignInfo,
    CreateResult,
    PreflightResult,
    ProgramToken,
    Qualification,
    SmartCampaign,
    TriggerResult,
)
from mktsync.marketo.retry import RetryPolicy
from mktsync.marketo.stats import ClientStats, Stats
from mktsync.marketo.stop import Stop
from mktsync.marketo.transport import Caller, Sending
from mktsync.marketo.usage import CallBudget, DailyUsage

MAX_TRIGGER_LEADS = 100
MAX_TRIGGER_TOKENS = 100
_TOKEN_NAME = re.compile(r"^\{\{my\.[^{}]+\}\}$")


class BatchTooLarge(ValueError):
    """A call was asked to carry more than Marketo accepts; split it first."""


def instance_root(base_url: str) -> str:
    """``https://123-ABC-456.mktorest.com`` from the root, ``.../rest`` or either with ``/``."""
    url = base_url.strip().rstrip("/")
    if url.endswith("/rest"):
        url = url[: -len("/rest")]
    if not url.startswith(("https://", "http://")):
        raise ValueError(
            "Marketo base_url must start with https:// (e.g. https://123-ABC-456.mktorest.com)"
        )
    return url


def instance_host(base_url: str) -> str:
    """The host (and port, when given) of a Marketo base URL: what a ledger and a saved
    plan are bound to.  Raises ``ValueError`` when it is not an http(s) URL."""
    url = httpx.URL(instance_root(base_url))
    if url.host in ("localhost", "::1") or url.host.startswith("127."):
        return "localhost"  # an emulator on this machine, whatever port it took this time
    return f"{url.host}:{url.port}" if url.port else url.host


def instance_if_known(config: Config) -> str | None:
    """The host of the config's Marketo base URL, when its variable is set here (it is
    not a secret) and it is an http(s) URL; None otherwise (a pull request's plan)."""
    with contextlib.suppress(EnvironmentVariableError, ValueError, httpx.InvalidURL):
        if config.marketo.base_url is not None:
            return instance_host(config.marketo.base_url.resolve())
    return None


def bare_token_name(name: str) -> str:
    """``{{my.Name}}``, ``my.Name`` or ``Name`` -> ``Name`` (as the program's token list has it)."""
    name = name.strip()
    if name.startswith("{{") and name.endswith("}}"):
        name = name[2:-2].strip()
    return name[3:] if name.startswith("my.") else name


class MarketoClient:
    """A thread-safe client for one Marketo instance, sharing one pool, token and limiter.

    ``limits`` configure the limiter every call goes through (pass ``limiter`` to share one
    between clients, or a ``shared_limits.SharedLimiter`` to share the instance's limits
    with other processes; whoever made it closes it); ``retry`` bounds retries; ``transport`` replaces the network in
    tests; ``clock``/``sleep`` replace time.  ``stats`` tells the runner what happened.
    ``stop`` (set on SIGINT by the CLI) ends every wait at once: a call still waiting for
    its turn raises ``NotSent`` and is never sent.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        limits: Limits,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        limiter: CallLimiter | None = None,
        renew_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        stop: Stop | None = None,
    ) -> None:
        self.base_url = instance_root(base_url)
        self._stats = limiter.stats if limiter is not None else ClientStats()
        self.limiter: CallLimiter = limiter or Limiter(limits, stats=self._stats, clock=clock)
        send_state = SendState()
        self._auth = MarketoAuth(
            f"{self.base_url}/identity/oauth/token",
            client_id,
            client_secret,
            renew_margin=renew_margin,
            stats=self._stats,
            send_state=send_state,
            clock=clock,
            stop=stop,
        )
        pool = limits.concurrency + 2
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=self._auth,
            transport=transport,
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )
        self._caller = Caller(
            self._http,
            limiter=self.limiter,
            retry=retry or RetryPolicy(),
            stats=self._stats,
            send_state=send_state,
            clock=clock,
            sleep=sleep,
            auth=self._auth,
            stop=stop,
        )
        self._walks = TokenWalks(self._caller)

    def __repr__(self) -> str:
        return f"MarketoClient(base_url={self.base_url!r}, limiter={self.limiter!r})"

    @property
    def stats(self) -> Stats:
        """Calls per endpoint, retries per code, throttled waits, token renewals so far."""
        return self._stats.snapshot()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MarketoClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- campaigns ---------------------------------------------------------------------

    def trigger_campaign(
        self,
        campaign_id: int,
        lead_ids: Sequence[int],
        tokens: Sequence[tuple[str, str]] = (),
        *,
        sending: Sending | None = None,
    ) -> TriggerResult:
        """Request a trigger campaign for up to 100 leads with up to 100 ``{{my.X}}`` tokens.

        Not retried once sent: a lost answer raises ``OutcomeUnknown``.  ``sending`` is
        told when the call leaves and when Marketo refused it unsent (``transport``).
        """
        if not lead_ids:
            raise BatchTooLarge("trigger_campaign needs at least one lead id")
        if len(lead_ids) > MAX_TRIGGER_LEADS:
            raise BatchTooLarge(
                f"trigger_campaign takes at most {MAX_TRIGGER_LEADS} leads a call, got {len(lead_ids)}"
            )
        if len(tokens) > MAX_TRIGGER_TOKENS:
            raise BatchTooLarge(
                f"trigger_campaign takes at most {MAX_TRIGGER_TOKENS} tokens a call, got {len(tokens)}"
            )
        bad = [name for name, _ in tokens if not _TOKEN_NAME.match(name)]
        if bad:
            raise ValueError(f"token names must be written {{{{my.Name}}}}: {', '.join(bad)}")
        payload: dict[str, Any] = {"leads": [{"id": int(i)} for i in lead_ids]}
        if tokens:
            payload["tokens"] = [{"name": n, "value": v} for n, v in tokens]
        body = self._caller.call(
            "trigger",
            "POST",
            f"/rest/v1/campaigns/{int(campaign_id)}/trigger.json",
            json_body={"input": payload},
            idempotent=False,
            sending=sending,
        )
        return TriggerResult(
            request_id=str(body.get("requestId", "")), campaign_id=int(campaign_id)
        )

    def schedule_campaign(
        self,
        campaign_id: int,
        run_at: str,
        tokens: Sequence[tuple[str, str]] = (),
        clone_to_program: str | None = None,
        *,
        sending: Sending | None = None,
    ) -> TriggerResult:
        """Schedule a batch campaign at ``run_at`` (ISO 8601 with offset) with ``{{my.X}}`` tokens.

        Not retried once sent (a second call would schedule a second run): a lost answer
        raises ``OutcomeUnknown``.  Marketo has no REST call to unschedule.  ``sending``:
        as for ``trigger_campaign``.
        """
        if len(tokens) > MAX_TRIGGER_TOKENS:
            raise BatchTooLarge(f"at most {MAX_TRIGGER_TOKENS} tokens a call, got {len(tokens)}")
        bad = [name for name, _ in tokens if not _TOKEN_NAME.match(name)]
        if bad:
            raise ValueError(f"token names must be written {{{{my.Name}}}}: {', '.join(bad)}")
        payload: dict[str, Any] = {"runAt": run_at}
        if tokens:
            payload["tokens"] = [{"name": n, "value": v} for n, v in tokens]
        if clone_to_program is not None:
            payload["cloneToProgramName"] = clone_to_program
        body = self._caller.call(
            "schedule",
            "POST",
            f"/rest/v1/campaigns/{int(campaign_id)}/schedule.json",
            json_body={"input": payload},
            idempotent=False,
            sending=sending,
        )
        return TriggerResult(
            request_id=str(body.get("requestId", "")), campaign_id=int(campaign_id)
        )

    def preflight_batch(self, campaign_id: int, token_names: Sequence[str] = ()) -> list[str]:
        """Why a batch campaign cannot be scheduled with these tokens (empty: it can).

        The campaign must exist and be a batch campaign (a trigger campaign is refused by
        ``schedule.json``); the tokens must exist on its program or a folder above it.
        """
        campaign = self.get_smart_campaign(campaign_id)
        if campaign is None:
            return [f"campaign {campaign_id} was not found"]
        if campaign.type != "batch":
            return [
                f"campaign {campaign_id} ({campaign.name}) is a {campaign.type or 'non-batch'} "
                "campaign; a schedule needs a batch campaign"
            ]
        if not token_names:
            return []
        return self._missing_tokens(campaign, token_names)[0]

    def get_campaign(self, campaign_id: int) -> CampaignInfo | None:
        """The campaign from the lead-database API, or None if Marketo has no such id."""
        try:
            body = self._caller.call(
                "campaign",
                "GET",
                f"/rest/v1/campaigns/{int(campaign_id)}.json",
                idempotent=True,
            )
        except NotFound:
            return None
        record = _first(body)
        if record is None:
            return None
        return CampaignInfo(
            id=int(record["id"]),
            name=str(record.get("name", "")),
            type=str(record.get("type", "")),
            active=bool(record.get("active", False)),
            program_id=int_or_none(record.get("programId")),
            program_name=record.get("programName"),
        )

    def get_smart_campaign(self, campaign_id: int) -> SmartCampaign | None:
        """The campaign from the asset API (type, isActive, isRequestable, parent program)."""
        try:
            body = self._caller.call(
                "smart_campaign",
                "GET",
                f"/rest/asset/v1/smartCampaign/{int(campaign_id)}.json",
                idempotent=True,
            )
        except NotFound:
            return None
        record = _first(body)  # "not found" is success with a warning and no result
        if record is None:
            return None
        return SmartCampaign(
            id=int(record["id"]),
            name=str(record.get("name", "")),
            type=str(record.get("type", "")),
            is_active=bool(record.get("isActive", False)),
            is_requestable=bool(record.get("isRequestable", False)),
            parent_program_id=int_or_none(record.get("parentProgramId")),
            qualification=Qualification.from_record(record),
        )

    def get_program_tokens(self, program_id: int) -> list[ProgramToken]:
        """The My Tokens of a program, by bare name.  Raises ``NotFound`` for a missing program."""
        body = self._caller.call(
            "tokens_get",
            "GET",
            f"/rest/asset/v1/folder/{int(program_id)}/tokens.json",
            params={"folderType": "Program"},
            idempotent=True,
        )
        record = _first(body) or {}
        return [
            ProgramToken(name=str(t.get("name", "")), type=str(t.get("type", "")))
            for t in record.get("tokens") or []
            if isinstance(t, Mapping)
        ]

    def preflight(self, campaign_id: int, token_names: Sequence[str] = ()) -> PreflightResult:
        """Check a campaign can be triggered with these tokens, naming every reason it cannot.

        Tokens may sit on the campaign's program or any folder above it (``folders``); the
        walk up is made once per program for the life of this client.  The result also
        carries the campaign's qualification rule and the calls this check made.
        """
        campaign = self.get_smart_campaign(campaign_id)
        if campaign is None:
            return PreflightResult(
                campaign_id=campaign_id,
                ok=False,
                reasons=[f"campaign {campaign_id} was not found"],
                calls=1,
            )
        what = f"campaign {campaign_id} ({campaign.name})"
        reasons: list[str] = []
        if campaign.type != "trigger":
            reasons.append(
                f"{what} is a {campaign.type or 'non-trigger'} campaign, not a trigger campaign"
            )
        if not campaign.is_active:
            reasons.append(f"{what} is not active")
        if campaign.type == "trigger" and campaign.is_active and not campaign.is_requestable:
            reasons.append(
                f"{what} cannot be requested: it needs a 'Campaign is Requested' trigger "
                "with source 'Web Service API'"
            )
        calls = 1
        if token_names:
            missing, walk_calls = self._missing_tokens(campaign, token_names)
            reasons.extend(missing)
            calls += walk_calls
        return PreflightResult(
            campaign_id=campaign_id,
            ok=not reasons,
            reasons=reasons,
            qualification=campaign.qualification,
            calls=calls,
        )

    def check_tokens(self, program_id: int, token_names: Sequence[str]) -> TokenCheck:
        """Which of these tokens neither the program nor any folder above it defines."""
        bare = list(dict.fromkeys(bare_token_name(n) for n in token_names))
        return self._walks.check(program_id, bare)

    def _missing_tokens(
        self, campaign: SmartCampaign, token_names: Sequence[str]
    ) -> tuple[list[str], int]:
        program_id = campaign.parent_program_id
        if program_id is None:
            return [f"campaign {campaign.id} has no parent program to hold My Tokens"], 0
        try:
            check = self.check_tokens(program_id, token_names)
        except NotFound:
            return [f"program {program_id} of campaign {campaign.id} was not found"], 1
        if not check.missing:
            return [], check.calls
        # Exact names: if Marketo matched case-insensitively this refuses loudly, never silently.
        first, *above = check.levels
        where = f", nor does {', '.join(lvl.label() for lvl in above)} above it" if above else ""
        available = ", ".join(check.available()) or "none"
        return [
            f"{first.label()} has no My Token '{bare}' (sent as {{{{my.{bare}}}}}){where}; "
            f"available: {available}"
            for bare in check.missing
        ], check.calls

    # -- today's usage (issue 24) ------------------------------------------------------

    def daily_usage(self) -> DailyUsage:
        """Today's API calls of the instance, by every API user (``stats/usage.json``: one
        call, a read)."""
        body = self._caller.call("usage", "GET", "/rest/v1/stats/usage.json", idempotent=True)
        return DailyUsage.from_body(body)

    def limit_calls(self, calls: int, *, day: str = "") -> CallBudget:
        """From now on send at most ``calls`` more API calls (attempts, retries included):
        past them a call raises ``ReserveReached`` before it leaves.  ``day`` is Marketo's
        day of the usage read that gave ``calls``: a limiter shared with other runs keeps
        the day's room for all of them (``SharedLimiter.share_room``), and the budget is
        what is left of it; otherwise this run counts its own."""
        shared = self.limiter.share_room(day, calls)
        if shared is not None:
            return shared
        budget = CallBudget(calls)
        self._caller.budget = budget
        return budget

    # -- leads -------------------------------------------------------------------------

    def find_leads_by_email(self, emails: Sequence[str]) -> dict[str, int]:
        """Lower-cased email -> lead id for the emails Marketo knows (300 values a call).

        When several leads share an email the **lowest id** wins: the oldest record, and
        the same answer on every run whatever order Marketo lists them in.
        """
        return leads.find_leads_by_email(self._caller, self.base_url, emails)

    def find_leads_by_id(self, ids: Sequence[int]) -> set[int]:
        """Which of these lead ids exist (300 values a call)."""
        return leads.find_leads_by_id(self._caller, self.base_url, ids)

    def read_activities(
        self,
        type_ids: Sequence[int],
        lead_ids: Sequence[int],
        since: str | Mapping[int, str],
        *,
        budget: activities.ReadBudget | None = None,
    ) -> activities.ActivityRead:
        """Activities of these types (at most 10) on these leads since ``since`` (ISO 8601,
        or one time per lead id), and whether each lead's log was read to its end within
        ``budget``."""
        return activities.read_activities(self._caller, type_ids, lead_ids, since, budget=budget)

    def create_leads(self, records: Sequence[Mapping[str, str]]) -> list[CreateResult]:
        """Create leads (``createOnly``, 300 a call); one result per record, in input order.

        Not retried once sent: a lost answer raises ``OutcomeUnknown``.
        """
        return leads.create_leads(self._caller, records)

    def describe_lead_fields(self) -> dict[str, fields.LeadField]:
        """Every lead field of the instance by REST API name (``describe2.json``, one call)."""
        return fields.describe_lead_fields(self._caller)

    def update_lead_fields(
        self, records: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, str] | None]:
        """Write fields by lead id (300 a call): per record ``None`` or ``(code, message)``."""
        return fields.update_lead_fields(self._caller, records)


def _first(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    result = body.get("result")
    if isinstance(result, list) and result and isinstance(result[0], Mapping):
        return result[0]
    return None
