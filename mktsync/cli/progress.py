"""Progress and log lines for ``apply``: one line rewritten in place on a terminal, a line
every few seconds in CI.

Events come from the runner (``start``, ``call``, ``preflight_failed``, ``orphaned``,
``finish``); ``--log-format json`` writes each as one JSON object per line instead (JSON
escapes every non-ASCII character).  Text lines show what came from data or from Marketo
through ``errors.one_line``: no control, bidi or invisible character reaches the terminal.

The progress line (issue 22):

- its ETA is the runner's (``eta`` in each event): the calls left under the rate window,
  the concurrency and the calls' measured latency, in the plan's own time model
  (``Limits.seconds_for``), so a run waiting for the window says how long, never 0;
  written ``ETA 12 s``, ``ETA 1 min 05 s``, and left out when unknown or when all is done;
- on a terminal it is rewritten in place (``\\r``, the line, then clear to the end of the
  line, so a shorter line leaves nothing of a longer one) and never wraps: it is shortened
  to the terminal's width, least useful parts first (the bar, the rate, the leads);
- elsewhere (a CI log) it is a new line every ``every`` seconds, and at the last call;
- a wait for Marketo's rate window sends no event (no call ends), so a thread of the
  printer (``tick``, from ``start`` to ``finish`` or ``close``) draws the line again from
  the last event, its ETA and wait counted down: a CI log still gets a line every
  ``every`` seconds (``SILENT`` with ``-v``, whose lines come with calls), and a terminal
  says ``waiting for Marketo's rate window, 12 s`` (the runner's ``wait`` in each event:
  the limiter's ``window_wait``).  It prints nothing
  after ``finish``, takes the one lock the events take, and is a daemon that nobody joins,
  so a stop or a crash never waits for it.

Written here, not with ``rich``: importing ``rich.progress`` alone takes longer than all of
``mktsync --help`` (issue 16), it would bring two more dependencies, and its ETA column
knows the rate so far, not the window -- the very thing this line must say.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from mktsync.errors import one_line
from mktsync.report.words import duration, plural

CLEAR = "\x1b[K"  # erase from the cursor to the end of the line (ECMA-48 EL)
BAR = 30  # the bar's width when the terminal has room for it
TICK = 0.5  # seconds between the printer's looks at a run that sends no event (a wait)
WAITING = 1.0  # a wait for the window shorter than this goes unsaid: calls flow
SILENT = 5.0  # the longest a CI log goes without a line while the run waits (even with -v)
MIN_BAR = 10  # narrower than this, the bar tells nothing: it is left out


def terminal_width(stream: TextIO) -> int:
    """The width of the terminal ``stream`` writes to: ``$COLUMNS`` when set (as
    ``shutil.get_terminal_size``), else the stream's own terminal, else shutil's answer
    (the terminal on stdout, else 80)."""
    if not os.environ.get("COLUMNS", "").strip().isdigit():
        try:
            return os.get_terminal_size(stream.fileno()).columns or 80
        except (AttributeError, ValueError, OSError):
            pass
    return shutil.get_terminal_size().columns


class Progress:
    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool,
        log_format: str = "text",
        every: float = 5.0,
        width: Callable[[], int] | None = None,
    ):
        self.stream, self.tty, self.log_format, self.every = stream, tty, log_format, every
        self.width = width or (lambda: terminal_width(stream))
        self.lock = threading.Lock()
        self.last = 0.0
        self.leads = 0
        self.drawn = False  # a progress line is on the terminal, not yet ended
        self.latest: dict[str, Any] | None = None  # the last start or call event's numbers
        self.latest_at = 0.0  # when it came (time.monotonic)
        self.ended = threading.Event()  # the run finished: the tick thread stops
        self.ticker: threading.Thread | None = None

    def __call__(self, event: Mapping[str, Any]) -> None:
        with self.lock:
            if self.log_format == "json":
                self.stream.write(
                    json.dumps({"time": round(time.time(), 3), **event}, default=str) + "\n"
                )
                self.stream.flush()
                return
            event = {k: one_line(v) if isinstance(v, str) else v for k, v in event.items()}
            kind = event.get("event")
            if kind == "start":
                eta = _eta(event.get("eta")) if event.get("calls") else ""
                self._log(
                    f"applying: {plural(int(event['calls']), 'trigger call')} for "
                    f"{plural(int(event['leads']), 'lead')}" + (f" ({eta})" if eta else "")
                )
                self._follow({"done": 0, "total": event["calls"], "elapsed": 0.0, **event})
            elif kind == "preflight_failed":
                self._log(f"preflight refused campaign {event['campaign_id']}: {event['reason']}")
            elif kind == "orphaned":  # Marketo will run it; nothing here can cancel it
                self._log(
                    f"batch campaign {event['campaign_id']}: run {event['key']} at "
                    f"{event.get('run_at') or 'an unrecorded time'} is still scheduled in "
                    "Marketo, and no row gives it any more: cancel it in Marketo"
                )
            elif kind == "call":
                self._follow(event)
                self._call(event)
            elif kind == "finish":
                self.ended.set()
                if self.drawn:
                    self.stream.write("\n")
                    self.drawn = False
            self.stream.flush()

    def close(self) -> None:
        """The run is over, finished or not: no line is drawn after this."""
        self.ended.set()

    def tick(self) -> None:
        """Draw the line again from the last event, its times counted down: on a terminal
        while the run waits for the window, in a CI log when ``every`` has passed."""
        with self.lock:
            if self.ended.is_set() or self.latest is None:
                return
            since = time.monotonic() - self.latest_at
            latest = self.latest
            if int(latest["done"]) >= int(latest["total"]):
                return
            event = {
                **latest,
                "elapsed": float(latest["elapsed"]) + since,
                "eta": _less(latest.get("eta"), since),
                "wait": _less(latest.get("wait"), since),
            }
            if self.tty:
                if (event["wait"] or 0) >= WAITING:
                    self.stream.write("\r" + self.line(event, self.width() - 1) + CLEAR)
                    self.drawn = True
            elif time.monotonic() - self.last >= max(self.every, SILENT):
                self.last = time.monotonic()
                self.stream.write(self.line(event) + "\n")
            self.stream.flush()

    def _follow(self, event: Mapping[str, Any]) -> None:
        """Keep ``event``'s numbers for ``tick``; the first one starts its thread."""
        self.latest = {k: event.get(k) for k in ("done", "total", "elapsed", "eta", "wait")}
        self.latest_at = time.monotonic()
        if self.ticker is None and not self.ended.is_set():
            self.ticker = threading.Thread(target=self._ticking, name="progress", daemon=True)
            self.ticker.start()

    def _ticking(self) -> None:
        while not self.ended.wait(TICK):
            self.tick()

    def _log(self, line: str) -> None:
        """A line of its own; on a terminal it takes the progress line's place, which the
        next call draws again below it."""
        if self.drawn:
            self.stream.write("\r" + CLEAR)
            self.drawn = False
        self.stream.write(line + "\n")

    def _call(self, event: Mapping[str, Any]) -> None:
        if event.get("outcome") == "sent":
            self.leads += int(event.get("leads", 0))
        if event.get("outcome") not in ("sent", "no_leads", None):
            self._log(
                f"call to campaign {event['campaign_id']}: {event['outcome']} "
                f"{event.get('code') or ''} {event.get('reason') or event.get('message') or ''}"
            )
        done, total = int(event["done"]), int(event["total"])
        if self.tty:
            self.stream.write("\r" + self.line(event, self.width() - 1) + CLEAR)
            self.drawn = True
        elif time.monotonic() - self.last >= self.every or done >= total:
            self.last = time.monotonic()
            self.stream.write(self.line(event) + "\n")

    def line(self, event: Mapping[str, Any], width: int | None = None) -> str:
        """The progress line for a ``call`` event, at most ``width`` characters (None: any)."""
        done, total, elapsed = int(event["done"]), int(event["total"]), float(event["elapsed"])
        calls = f"{done}/{total} calls"
        leads = plural(self.leads, "lead")
        rate = f"{done / elapsed * 60:.0f} calls/min" if elapsed > 0 and done else ""
        eta = _eta(event.get("eta")) if done < total else ""
        wait = event.get("wait")
        waiting = (
            f"waiting for Marketo's rate window, {duration(wait)}"
            if isinstance(wait, int | float) and wait >= WAITING and done < total
            else ""
        )
        # Most useful first: what is done, how long is left, why nothing moves, who got
        # it, how fast.
        choices = [
            [calls, leads, rate, eta, waiting],
            [calls, leads, eta, waiting],
            [calls, eta, waiting],
            [calls, eta],
            [calls],
        ]
        if width is None:
            return ", ".join(p for p in choices[0] if p)
        for parts in choices:
            text = ", ".join(p for p in parts if p)
            room = width - len(text) - 3  # "[" + bar + "] "
            if parts is choices[0] and room >= MIN_BAR and self.tty:
                bar = min(BAR, room)
                filled = int(bar * done / total) if total else bar
                return f"[{'#' * filled}{'.' * (bar - filled)}] {text}"
            if len(text) <= width:
                return text
        return calls[: max(0, width)]


def _less(seconds: object, since: float) -> float | None:
    """A time left ``since`` seconds later; None when it was unknown."""
    if not isinstance(seconds, int | float) or seconds < 0:
        return None
    return max(0.0, float(seconds) - since)


def _eta(seconds: object) -> str:
    """``ETA 1 min 05 s``; nothing when the time left is unknown."""
    if not isinstance(seconds, int | float) or seconds < 0:
        return ""
    return f"ETA {duration(seconds)}"
