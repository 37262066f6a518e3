"""Progress and log lines for ``apply``: a bar on a terminal, a line every few seconds in CI.

Events come from the runner (``start``, ``call``, ``preflight_failed``, ``orphaned``,
``finish``); ``--log-format json`` writes each as one JSON object per line instead (JSON
escapes every non-ASCII character).  Text lines show what came from data or from Marketo
through ``errors.one_line``: no control, bidi or invisible character reaches the terminal.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any, TextIO

from mktsync.errors import one_line


class Progress:
    def __init__(self, stream: TextIO, *, tty: bool, log_format: str = "text", every: float = 5.0):
        self.stream, self.tty, self.log_format, self.every = stream, tty, log_format, every
        self.lock = threading.Lock()
        self.last = 0.0
        self.leads = 0

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
                self.stream.write(
                    f"applying: {event['calls']} trigger calls for {event['leads']} leads\n"
                )
            elif kind == "preflight_failed":
                self.stream.write(
                    f"preflight refused campaign {event['campaign_id']}: {event['reason']}\n"
                )
            elif kind == "orphaned":  # Marketo will run it; nothing here can cancel it
                self.stream.write(
                    f"batch campaign {event['campaign_id']}: run {event['key']} at "
                    f"{event.get('run_at') or 'an unrecorded time'} is still scheduled in "
                    "Marketo, and no row gives it any more: cancel it in Marketo\n"
                )
            elif kind == "call":
                self._call(event)
            elif kind == "finish" and self.tty:
                self.stream.write("\n")
            self.stream.flush()

    def _call(self, event: Mapping[str, Any]) -> None:
        if event.get("outcome") == "sent":
            self.leads += int(event.get("leads", 0))
        done, total, elapsed = int(event["done"]), int(event["total"]), float(event["elapsed"])
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        line = (
            f"{done}/{total} calls, {self.leads} leads, {rate * 60:.0f} calls/min, ETA {eta:.0f} s"
        )
        if event.get("outcome") not in ("sent", "no_leads", None):
            self.stream.write(
                ("\n" if self.tty else "")
                + f"call to campaign {event['campaign_id']}: {event['outcome']} "
                f"{event.get('code') or ''} {event.get('reason') or event.get('message') or ''}\n"
            )
        if self.tty:
            width = 30
            filled = int(width * done / total) if total else width
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {line}")
        elif time.monotonic() - self.last >= self.every or done == total:
            self.last = time.monotonic()
            self.stream.write(line + "\n")
