"""The request pipeline: auth, limits, routing, body checks, faults, endpoint, journal.

Order of checks for a REST call, and whether it counts toward window and quota::

    URI > 8 KB -> HTTP 414 / body > 1 MB -> HTTP 413          not counted
    no / unknown / expired token -> 601 / 602                 not counted
    quota -> 607, window -> 606, concurrency -> 615           counted if count_rejected
    (latency: the call holds a concurrency slot meanwhile)
    unknown path -> 610 (counted), wrong method -> 605 (not counted)
    content type -> 612, JSON -> 609                          counted
    fault (random or scripted)                                604/608/611 not counted
    endpoint -> result, or 1xxx / 611 ...

Every counted call is also counted in ``World.usage`` under its client's API user (what
``stats/usage.json`` reports); today's seeded usage of other users uses up the quota.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mktsync.emulator import routes
from mktsync.emulator.call import Call
from mktsync.emulator.envelope import (
    MESSAGES,
    UNCOUNTED_CODES,
    ApiError,
    Reply,
    RequestIds,
    failure,
    html_reply,
    json_reply,
    success,
)
from mktsync.emulator.faults import Faults
from mktsync.emulator.identity import Identity
from mktsync.emulator.journal import Journal, body_for_journal, redact_params
from mktsync.emulator.limits import Limiter
from mktsync.emulator.options import EmulatorOptions
from mktsync.emulator.usage import user_of
from mktsync.emulator.world import World

MAX_URI = 8 * 1024
MAX_BODY = 1024 * 1024
IDENTITY_PATH = "/identity/oauth/token"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ENVELOPE_5XX = {"json502": "Bad Gateway", "json500": "Internal Server Error"}
UNKNOWN_CLIENT = "No client with requested id"


@dataclass(frozen=True, kw_only=True)
class Request:
    """One HTTP request as the server read it (headers with lower-case names)."""

    method: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_length: int = 0

    def __repr__(self) -> str:
        # The target may carry client_secret or access_token; never show it.
        return f"Request(method={self.method!r}, path={urlsplit(self.target).path!r})"


class App:
    """Turns a Request into a Reply; shared by every server thread.

    >>> app = App(options=EmulatorOptions(), world=World(), identity=Identity({"a": "b"}, 60),
    ...           faults=Faults())
    >>> app.handle(Request(method="GET", target="/rest/v1/leads.json")).codes
    ('601',)
    """

    def __init__(
        self,
        *,
        options: EmulatorOptions,
        world: World,
        identity: Identity,
        faults: Faults,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.world = world
        self.identity = identity
        self.faults = faults
        self.journal = Journal()
        self.limiter = Limiter(
            calls=options.calls,
            window_seconds=options.window_seconds,
            concurrency=options.concurrency,
            daily_quota=options.daily_quota,
            count_rejected=options.count_rejected,
            clock=clock,
        )
        self.limiter.spend(world.usage.day(0)["total"])  # other integrations' calls today
        self._ids = RequestIds()
        self._latency = random.Random(options.random_seed)
        self.latency: tuple[float, float] = options.latency  # changeable while serving

    def handle(self, req: Request) -> Reply:
        parts = urlsplit(req.target)
        query = parse_qs(parts.query, keep_blank_values=True)
        entry: dict[str, Any] = {
            "method": req.method,
            "path": parts.path,
            "query": redact_params(query),
            "body": body_for_journal(req.body, req.headers.get("content-type", "")),
            "endpoint": None,
            "request_id": None,
            "fault": None,
            "counted": False,
        }
        reply = self._dispatch(req, parts.path, query, entry)
        entry.update(status=reply.status, codes=list(reply.codes), action=reply.action)
        self.journal.record(entry)
        return reply

    def _dispatch(
        self, req: Request, path: str, query: dict[str, list[str]], entry: dict[str, Any]
    ) -> Reply:
        override = method_override(req, query)
        with contextlib.suppress(ApiError):
            # Name the endpoint in the journal even when the call is refused before routing.
            entry["endpoint"] = routes.match(req.method, path, override)[0].name
        if len(req.target.encode()) > MAX_URI:
            return html_reply(414, "Request-URI Too Large")
        if req.content_length > MAX_BODY:
            return html_reply(413, "Request Entity Too Large")
        if path == IDENTITY_PATH:
            entry["endpoint"] = "identity"
            return self._identity(req, query, entry)
        request_id = self._ids.next()
        entry["request_id"] = request_id
        code = self._auth(req, query)
        if code is not None:
            return failure(request_id, code, _auth_message(code, req, query))
        admission = self.limiter.admit()
        entry["counted"] = admission.counted
        user = user_of(self.identity.client_of(_token(req, query)) or "")
        if admission.counted:
            self.world.usage.count(user)
        if admission.code is not None:
            return failure(request_id, admission.code, self._limit_message(admission.code))
        try:
            latency = self.latency
            if latency[1] > 0:
                time.sleep(self._latency.uniform(*latency))
            reply = self._admitted(req, path, query, request_id, entry)
        finally:
            self.limiter.release()
        if reply.codes and reply.codes[0] in UNCOUNTED_CODES:
            self.limiter.refund()
            self.world.usage.count(user, -1)
            entry["counted"] = False
        return reply

    def _admitted(
        self,
        req: Request,
        path: str,
        query: dict[str, list[str]],
        request_id: str,
        entry: dict[str, Any],
    ) -> Reply:
        override = method_override(req, query)
        try:
            route, ids = routes.match(req.method, path, override)
        except ApiError as err:
            return failure(request_id, err.code, err.message)
        entry["endpoint"] = route.name
        try:
            params, body = self._inputs(req, route, query)
        except ApiError as err:
            return failure(request_id, err.code, err.message, asset=route.asset)
        fault = self.faults.draw(route.name)
        entry["fault"] = fault
        if fault is not None and fault != "lost":
            return self._fault_reply(fault, request_id, route.asset)
        call = Call(
            endpoint=route.name,
            request_id=request_id,
            ids=ids,
            params=params,
            json=body,
            options=self.options,
        )
        try:
            with self.world.lock:
                outcome = route.handler(call, self.world)
        except ApiError as err:
            reply = failure(request_id, err.code, err.message, asset=route.asset)
        else:
            reply = success(request_id, outcome, asset=route.asset)
        if fault == "lost":
            return Reply(action="drop", codes=reply.codes)
        return reply

    def _inputs(
        self, req: Request, route: routes.Route, query: dict[str, list[str]]
    ) -> tuple[dict[str, str], Any]:
        params = {k: ",".join(v) for k, v in query.items() if k != "_method"}
        ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
        form = route.body == "form" or (route.method_override and req.method == "POST")
        if form:
            if ctype != "application/x-www-form-urlencoded":
                raise ApiError("612")
            try:
                fields = parse_qs(req.body.decode(), keep_blank_values=True, strict_parsing=False)
            except UnicodeDecodeError:
                raise ApiError("609", "Invalid form body") from None
            params.update({k: ",".join(v) for k, v in fields.items() if k != "_method"})
            return params, None
        if route.body == "json" or (route.body == "optional_json" and req.body.strip()):
            if ctype != "application/json":
                raise ApiError("612")
            try:
                return params, json.loads(req.body)
            except ValueError:
                raise ApiError("609") from None
        return params, None

    def _fault_reply(self, fault: str, request_id: str, asset: bool) -> Reply:
        if fault in ENVELOPE_5XX:
            # Marketo's own 5xx, inside the usual envelope (HTTP 200, success: false).
            code = fault.removeprefix("json")
            return failure(request_id, code, ENVELOPE_5XX[fault], asset=asset)
        if fault == "502":
            return html_reply(502, "Bad Gateway")
        if fault == "html500":
            return html_reply(500, "Internal Server Error")
        if fault == "reset":
            return Reply(action="reset")
        return failure(request_id, fault, self._limit_message(fault), asset=asset)

    def _limit_message(self, code: str) -> str:
        o = self.options
        window = f"{o.window_seconds:g}"
        return MESSAGES[code].format(calls=o.calls, window=window, concurrency=o.concurrency)

    def _auth(self, req: Request, query: dict[str, list[str]]) -> str | None:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self.identity.check(token.strip())
        if "access_token" in query and self.options.allow_query_token:
            return self.identity.check(query["access_token"][0])
        return "601"

    def _identity(self, req: Request, query: dict[str, list[str]], entry: dict[str, Any]) -> Reply:
        if req.method not in ("GET", "POST"):
            return html_reply(405, "Not Allowed")
        params = {k: v[0] for k, v in query.items()}
        ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if req.method == "POST" and ctype == "application/x-www-form-urlencoded":
            form = parse_qs(req.body.decode(errors="replace"), keep_blank_values=True)
            params.update({k: v[0] for k, v in form.items()})
        fault = self.faults.draw("identity")
        entry["fault"] = fault
        if fault is not None and fault != "lost":
            return self._fault_reply(fault, "", False)
        reply = self._grant(params)
        return Reply(action="drop", codes=reply.codes) if fault == "lost" else reply

    def _grant(self, params: Mapping[str, str]) -> Reply:
        if params.get("grant_type") != "client_credentials":
            body = {
                "error": "unsupported_grant_type",
                "error_description": "Unsupported grant type",
            }
            return _identity_reply(400, body)
        client_id = params.get("client_id", "")
        grant = self.identity.issue(client_id, params.get("client_secret", ""))
        if grant is None:
            # An unknown client id and a wrong secret get different bodies (marketorestpython
            # issue #2: "either 'Bad Client Credentials' or 'No client with requested id'").
            body = (
                {"error": "invalid_client", "error_description": "Bad client credentials"}
                if self.identity.knows(client_id)
                else {"error": "unauthorized", "error_description": UNKNOWN_CLIENT}
            )
            return _identity_reply(401, body)
        return _identity_reply(200, grant.as_json())


def method_override(req: Request, query: Mapping[str, list[str]]) -> str | None:
    """``_method`` from the query string or, on a form-encoded POST, from the form body
    (marketorestpython sends it in the body; Adobe documents the POST + ``_method=GET`` form)."""
    if query.get("_method"):
        return query["_method"][0]
    ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if req.method != "POST" or ctype != "application/x-www-form-urlencoded":
        return None
    if b"_method=" not in req.body:
        return None
    form = parse_qs(req.body.decode(errors="replace"), keep_blank_values=True)
    return form["_method"][0] if form.get("_method") else None


def _token(req: Request, query: Mapping[str, list[str]]) -> str:
    """The access token a call carries: the bearer header, else ``access_token`` (whether
    the query form is accepted is ``App._auth``'s business)."""
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return query["access_token"][0] if query.get("access_token") else ""


def _identity_reply(status: int, body: Mapping[str, Any]) -> Reply:
    reply = json_reply(body, status=status)
    codes = () if status == 200 else (str(body["error"]),)
    return Reply(status=status, body=reply.body, codes=codes, headers=_NO_STORE)


def _auth_message(code: str, req: Request, query: Mapping[str, list[str]]) -> str:
    if code == "601" and "authorization" not in req.headers:
        if "access_token" in query:
            return "Access token in the query string is not accepted; use Authorization: Bearer"
        return "Access token not specified"
    return MESSAGES[code]
