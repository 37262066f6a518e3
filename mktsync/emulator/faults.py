"""Faults on demand: seeded random rates per fault, one-shot scripted faults.

Spec syntax (command line, ``EmulatorOptions.faults``, ``POST /_emulator/faults``)::

    606=0.05,lost=0.01,trigger#7=lost,activities.empty_pages=50,activities.endless=on

``KIND=RATE`` sets a random rate; ``ENDPOINT#N=KIND`` makes the N-th admitted call to that
endpoint (counted from when the script was set) fail with KIND, once.  ``activities.NAME=VALUE``
sets how the activity log pages (``ActivityFaults``): switches, not dice.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Envelope codes first, then HTTP pages, then connection faults; the order fixes how one
# uniform draw maps onto the configured rates, so a seed reproduces the same faults.
FAULT_KINDS = (
    "606",
    "615",
    "604",
    "608",
    "611",
    "713",
    "502",
    "html500",
    "reset",
    "lost",
    # Marketo's 5xx inside a JSON envelope (HTTP 200, success: false, code "502"/"500").
    "json502",
    "json500",
)
# Every name a fault script may use: identity plus each route's name (routes.ROUTES; a test
# keeps the two in step, so an endpoint the docs name is never refused here).
ENDPOINTS = (
    "identity",
    "trigger",
    "schedule",
    "campaign",
    "campaigns",
    "smart_campaign",
    "leads_get",
    "leads_sync",
    "leads_describe2",
    "leads_describe",
    "tokens_get",
    "tokens_post",
    "tokens_delete",
    "folder",
    "program",
    "paging_token",
    "activities",
    "activity_types",
    "usage",
    "usage_last7days",
)


ACTIVITY_PREFIX = "activities."
_ON, _OFF = ("on", "true", "1", "yes"), ("off", "false", "0", "no")


@dataclass(frozen=True, kw_only=True)
class ActivityFaults:
    """How the emulated activity log misbehaves (docs/emulator.md, "Activities").

    >>> activity_faults("activities.empty_pages=3,activities.endless=on").endless
    True

    ``empty_pages``: every read (the pages that follow one paging token) first gets this
    many empty pages with ``moreResult: true`` and a new token.  ``endless``: after the last
    activity the pages stay empty with ``moreResult: true`` forever.  ``all_types``:
    ``activities.json`` ignores ``activityTypeIds`` and returns every type.  ``flow``: a
    trigger Marketo carries out also logs "Send Email" (type 6) from the campaign on every
    lead whose flow ran, as a campaign with a Send Email step does.
    """

    empty_pages: int = 0
    endless: bool = False
    all_types: bool = False
    flow: bool = False


def activity_faults(text: str, base: ActivityFaults | None = None) -> ActivityFaults:
    """``base`` with the ``activities.NAME=VALUE`` switches of a fault spec applied."""
    values: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = (x.strip() for x in part.partition("="))
        if not key.startswith(ACTIVITY_PREFIX):
            continue
        name, value = key.removeprefix(ACTIVITY_PREFIX), value.lower()
        if name == "empty_pages":
            if not value.isdigit():
                raise ValueError(f"fault {part!r}: empty_pages must be a whole number")
            values[name] = int(value)
        elif name == "types" and value in ("all", "asked"):
            values["all_types"] = value == "all"
        elif name in ("endless", "flow") and value in _ON + _OFF:
            values[name] = value in _ON
        else:
            raise ValueError(
                f"fault {part!r}: one of activities.empty_pages=N, activities.endless=on|off, "
                "activities.types=all|asked, activities.flow=on|off"
            )
    if not values:
        return base or ActivityFaults()
    return dataclasses.replace(base or ActivityFaults(), **values)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class ScriptedFault:
    """``ScriptedFault(endpoint="trigger", nth=7, fault="lost")``: the 7th trigger call is lost."""

    endpoint: str
    nth: int
    fault: str

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}; one of {', '.join(ENDPOINTS)}")
        if self.fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.fault!r}; one of {', '.join(FAULT_KINDS)}")
        if self.nth < 1:
            raise ValueError("nth counts from 1")


def check_rates(rates: Mapping[str, float]) -> dict[str, float]:
    clean: dict[str, float] = {}
    for kind, rate in rates.items():
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"fault rate for {kind} must be between 0 and 1")
        clean[kind] = float(rate)
    if sum(clean.values()) > 1.0:
        raise ValueError("fault rates add up to more than 1")
    return clean


def parse_spec(text: str) -> tuple[dict[str, float], list[ScriptedFault]]:
    """``"606=0.05,trigger#7=lost"`` -> ``({"606": 0.05}, [ScriptedFault(...)])``."""
    rates: dict[str, float] = {}
    script: list[ScriptedFault] = []
    activity_faults(text)  # the activities.* switches: checked here, applied to the world
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part.startswith(ACTIVITY_PREFIX):
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"fault {part!r} must look like KIND=RATE or ENDPOINT#N=KIND")
        key, value = key.strip(), value.strip()
        if "#" in key:
            endpoint, _, nth = key.partition("#")
            if not nth.isdigit():
                raise ValueError(f"fault {part!r}: N in ENDPOINT#N must be a number")
            script.append(ScriptedFault(endpoint=endpoint, nth=int(nth), fault=value))
        else:
            try:
                rates[key] = float(value)
            except ValueError:
                raise ValueError(f"fault {part!r}: rate must be a number") from None
    return check_rates(rates), script


def script_from(entries: Iterable[Mapping[str, Any]]) -> list[ScriptedFault]:
    return [
        ScriptedFault(endpoint=str(e["endpoint"]), nth=int(e["nth"]), fault=str(e["fault"]))
        for e in entries
    ]


class Faults:
    """Decides, per admitted call, whether a fault is injected (thread-safe).

    >>> f = Faults(rates={"606": 1.0}, seed=1)
    >>> f.draw("trigger")
    '606'
    """

    def __init__(self, rates: Mapping[str, float] | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._rates = check_rates(rates or {})
        self._calls: Counter[str] = Counter()
        self._pending: dict[tuple[str, int], str] = {}
        self.injected: Counter[str] = Counter()

    def set_rates(self, rates: Mapping[str, float]) -> None:
        clean = check_rates(rates)
        with self._lock:
            self._rates = clean

    def rates(self) -> dict[str, float]:
        with self._lock:
            return dict(self._rates)

    def script(self, endpoint: str, nth: int, fault: str) -> None:
        entry = ScriptedFault(endpoint=endpoint, nth=nth, fault=fault)
        with self._lock:
            self._pending[(endpoint, self._calls[endpoint] + nth)] = entry.fault

    def scripted(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"endpoint": ep, "nth": n - self._calls[ep], "fault": fault}
                for (ep, n), fault in self._pending.items()
            ]

    def clear(self) -> None:
        with self._lock:
            self._rates = {}
            self._pending.clear()

    def draw(self, endpoint: str) -> str | None:
        """Count one admitted call to ``endpoint``; the fault to inject, if any.

        Random rates never apply to identity calls (they are not API calls); scripts may.
        """
        with self._lock:
            self._calls[endpoint] += 1
            fault = self._pending.pop((endpoint, self._calls[endpoint]), None)
            if fault is None and endpoint != "identity" and self._rates:
                roll = self._random.random()
                edge = 0.0
                for kind in FAULT_KINDS:
                    edge += self._rates.get(kind, 0.0)
                    if roll < edge:
                        fault = kind
                        break
            if fault is not None:
                self.injected[fault] += 1
            return fault
