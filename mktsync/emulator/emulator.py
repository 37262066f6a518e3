"""``Emulator``: one seeded emulated instance served in a background thread; ``serve()``."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from mktsync.emulator.activity_routes import add_activity
from mktsync.emulator.app import App
from mktsync.emulator.call import iso_datetime
from mktsync.emulator.faults import Faults, activity_faults, parse_spec, script_from
from mktsync.emulator.identity import Identity
from mktsync.emulator.options import EmulatorOptions
from mktsync.emulator.seed import build_world, clients_of, faults_of
from mktsync.emulator.server import EmulatorServer
from mktsync.emulator.usage import DAYS_KEPT, seed_usage


class Emulator:
    """A Marketo emulator on ``host:port`` (port 0 picks a free one).

    >>> with Emulator(seed=None, options=EmulatorOptions()) as emu:  # doctest: +SKIP
    ...     httpx.get(emu.base_url + "/identity/oauth/token", params={...})

    ``clock`` (seconds, monotonic) times token lifetimes and the call window; a test
    passes one it moves by hand instead of sleeping until a token expires.
    """

    def __init__(
        self,
        seed: Mapping[str, Any] | None = None,
        options: EmulatorOptions | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options or EmulatorOptions()
        self._seed = dict(seed or {})
        self._clock = clock
        clients = clients_of(self._seed)
        self.client_id, self.client_secret = next(iter(clients.items()))
        self._identity = Identity(clients, ttl=self.options.token_ttl, clock=clock)
        self._app = self._build_app()
        self._server = EmulatorServer((host, port), self._app, self._inspect)
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Emulator(base_url={self.base_url!r}, client_id={self.client_id!r})"

    def _build_faults(self) -> Faults:
        spec = faults_of(self._seed)
        seed = self.options.random_seed
        faults = Faults(
            rates=spec.get("rates") or {},
            seed=int(spec.get("seed", 0)) if seed is None else seed,
        )
        for entry in script_from(spec.get("script") or []):
            faults.script(entry.endpoint, entry.nth, entry.fault)
        if self.options.faults:
            rates, script = parse_spec(self.options.faults)
            faults.set_rates({**faults.rates(), **rates})
            for entry in script:
                faults.script(entry.endpoint, entry.nth, entry.fault)
        return faults

    def _build_app(self) -> App:
        world = build_world(self._seed)
        world.activity_faults = activity_faults(self.options.faults or "")
        return App(
            options=self.options,
            world=world,
            identity=self._identity,
            faults=self._build_faults(),
            clock=self._clock,
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Emulator:
        """Serve in a daemon thread; the socket is already listening, so it is up on return."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.close_connections()
        self._server.server_close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control and inspection (also reachable over HTTP under /_emulator/) --

    def set_faults(self, spec: str) -> None:
        """Replace the random rates with the spec's; add its scripted faults; set the
        ``activities.*`` switches it names (the others stay as they are)."""
        rates, script = parse_spec(spec)
        self._app.faults.set_rates(rates)
        for entry in script:
            self._app.faults.script(entry.endpoint, entry.nth, entry.fault)
        world = self._app.world
        with world.lock:
            world.activity_faults = activity_faults(spec, world.activity_faults)

    def add_activity(
        self,
        lead_id: int,
        type_id: int,
        *,
        primary_id: int | None = None,
        campaign_id: int | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Log an activity (of any type) on a lead, at ``at`` (default: now), as Marketo
        would for something that happened outside the API; the activity as served."""
        world = self._app.world
        with world.lock:
            added = add_activity(
                world, lead_id, type_id, at or datetime.now(UTC),
                primary_id=primary_id, campaign_id=campaign_id,
            )  # fmt: skip
        return {k: v for k, v in added.items() if not k.startswith("_")}

    def set_latency(self, low: float, high: float | None = None) -> None:
        """Seconds each call takes from now on (``low``, or uniform in ``low``-``high``)."""
        self._app.latency = (low, low if high is None else high)

    def script_fault(self, endpoint: str, nth: int, fault: str) -> None:
        self._app.faults.script(endpoint, nth, fault)

    def revoke_tokens(self) -> int:
        return self._identity.revoke_all()

    def journal(self) -> list[dict[str, Any]]:
        return self._app.journal.entries()

    def triggers(self) -> list[dict[str, Any]]:
        with self._app.world.lock:
            return [dict(t) for t in self._app.world.triggers]

    def schedules(self) -> list[dict[str, Any]]:
        with self._app.world.lock:
            return [dict(s) for s in self._app.world.schedules]

    def activities(self) -> list[dict[str, Any]]:
        with self._app.world.lock:
            return [
                {k: v for k, v in a.items() if not k.startswith("_")}
                for a in self._app.world.activities
            ]

    def leads(self) -> list[dict[str, Any]]:
        with self._app.world.lock:
            return [dict(lead) for lead in self._app.world.leads.values()]

    def stats(self) -> dict[str, Any]:
        app = self._app
        return {
            "received": len(app.journal),
            "calls": app.limiter.counted,
            "quota_used": app.limiter.quota_used(),
            "in_flight": app.limiter.in_flight(),
            "rejected": dict(app.limiter.rejected),
            "faults": dict(app.faults.injected),
            "by_endpoint": app.journal.by_endpoint(),
            "lead_index": self.lead_index(),
        }

    def usage(self) -> list[dict[str, Any]]:
        """The last 7 days of API usage by API user, today first (``stats/usage.json``'s
        figures, read without a token and without counting)."""
        return [self._app.world.usage.day(n) for n in range(DAYS_KEPT)]

    def add_usage(self, entries: list[dict[str, Any]]) -> None:
        """Other integrations' calls (``[{"userId", "count", "days_ago"?}]``): they show in
        ``stats/usage.json`` and today's use up the daily quota.  ValueError on a bad entry."""
        app = self._app
        app.limiter.spend(seed_usage(app.world.usage, entries, "POST /_emulator/usage"))

    def lead_index(self) -> dict[str, Any]:
        """Which lookup fields are indexed, and how many leads were read to build them."""
        with self._app.world.lock:
            index = self._app.world.index
            return {"fields": index.fields(), "rows_scanned": index.rows_scanned}

    def reset(self) -> None:
        """Back to the seed: data, journal, counters, limits, faults.  Issued tokens stay valid."""
        fresh = self._build_app()
        self._app = fresh
        self._server.app = fresh

    def _inspect(self, method: str, target: str, body: bytes, client: str) -> tuple[int, Any]:
        if not ipaddress.ip_address(client.split("%")[0]).is_loopback:
            return 403, {"error": "the /_emulator/ API answers loopback clients only"}
        name = urlsplit(target).path.removeprefix("/_emulator/")
        views = {
            "journal": self.journal,
            "triggers": self.triggers,
            "schedules": self.schedules,
            "leads": self.leads,
            "activities": self.activities,
            "stats": self.stats,
            "usage": self.usage,
        }
        if method == "GET" and name in views:
            return 200, views[name]()
        if method == "POST" and name == "reset":
            self.reset()
            return 200, {"reset": True}
        if method == "POST" and name == "activities":
            try:
                return 200, [self._post_activity(a) for a in json.loads(body or b"[]")]
            except (ValueError, KeyError, TypeError) as err:
                return 400, {"error": str(err)}
        if method == "POST" and name == "usage":
            try:
                self.add_usage(json.loads(body or b"[]"))
            except (ValueError, KeyError, TypeError) as err:
                return 400, {"error": str(err)}
            return 200, self.usage()
        if method == "POST" and name == "faults":
            try:
                self._post_faults(json.loads(body or b"{}"))
            except (ValueError, KeyError, TypeError) as err:
                return 400, {"error": str(err)}
            return 200, {"rates": self._app.faults.rates(), "script": self._app.faults.scripted()}
        return 404, {"error": f"no such emulator resource: {method} {name}"}

    def _post_activity(self, data: Any) -> dict[str, Any]:
        """``{"leadId": 1, "activityTypeId": 6, "primaryAttributeValueId": 701234,
        "campaignId": 1234, "activityDate": "2026-12-01T10:00:00Z"}`` (the last three optional)."""
        if not isinstance(data, dict):
            raise ValueError("each activity must be a JSON object")
        at = None
        if data.get("activityDate") is not None:
            at = iso_datetime(str(data["activityDate"]))
            if at is None:
                raise ValueError(f"activityDate {data['activityDate']!r} is not ISO 8601")
            at = at if at.tzinfo else at.replace(tzinfo=UTC)

        def number(name: str) -> int | None:
            value = data.get(name)
            return None if value is None else int(value)

        return self.add_activity(
            int(data["leadId"]),
            int(data["activityTypeId"]),
            primary_id=number("primaryAttributeValueId"),
            campaign_id=number("campaignId"),
            at=at,
        )

    def _post_faults(self, data: Any) -> None:
        """``{"spec": "606=0.1,trigger#7=lost"}``, ``{"rates": {...}}``, ``{"script": [...]}``,
        ``{"revoke_tokens": true}`` (any combination)."""
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        if "spec" in data:
            self.set_faults(str(data["spec"]))
        if "rates" in data:
            self._app.faults.set_rates(data["rates"])
        for entry in script_from(data.get("script") or []):
            self.script_fault(entry.endpoint, entry.nth, entry.fault)
        if data.get("revoke_tokens"):
            self.revoke_tokens()


@contextmanager
def serve(
    seed: Mapping[str, Any] | None = None,
    options: EmulatorOptions | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Emulator]:
    """Run an emulator in a background thread for the ``with`` block.

    >>> with serve(seed=None, options=EmulatorOptions(calls=5)) as emu:  # doctest: +SKIP
    ...     emu.base_url
    'http://127.0.0.1:54321'
    """
    emulator = Emulator(seed=seed, options=options, host=host, port=port, clock=clock)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
