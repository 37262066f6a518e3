"""A project on disk plus an emulator seeded for it, and ways to run apply against both."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from testing import project
from testing.project import LEAD_BY_EMAIL, MARKETO_FROM_ENV, csv_source, csv_text, flow
from testing.seed import serve_project

from mktsync.apply import ApplyOptions, ApplyReport, apply_config
from mktsync.cli import main
from mktsync.config import load_config
from mktsync.emulator import Emulator
from mktsync.ledger import open_ledger
from mktsync.marketo import MarketoClient, RetryPolicy

COLUMNS = ["email", "webinar", "code"]
REMINDER = {
    "campaign_id": 1234,
    "source": "regs",
    "lead": LEAD_BY_EMAIL,
    "key": "{{ row.email }}/{{ row.webinar }}",
    "retrigger": "on_change",
    "tokens": {"my.Webinar": "{{ row.webinar }}", "my.Link": "https://example.com/{{ row.code }}"},
}


def write_project(
    tmp_path: Path,
    rows: Sequence[dict[str, str]],
    *,
    extra: str = "",
    calls: int = 100,
    window: float = 20,
    concurrency: int = 10,
    **sections: Any,
) -> Path:
    """Campaign 1234 (``reminder``) on ``regs.csv`` holding ``rows``, Marketo from the
    environment with these limits; ``sections`` and ``extra`` as ``testing.project`` takes
    them (``sources`` are added to ``regs``, ``files`` to ``regs.csv``; ``campaigns``
    replace ``reminder``)."""
    return project.write_project(
        tmp_path,
        marketo={
            **MARKETO_FROM_ENV,
            "limits": flow(calls=calls, window_seconds=window, concurrency=concurrency),
        },
        sources={"regs": csv_source("regs.csv"), **sections.pop("sources", {})},
        campaigns=sections.pop("campaigns", {"reminder": REMINDER}),
        extra=extra,
        files={"regs.csv": csv_text(rows, COLUMNS), **sections.pop("files", {})},
        **sections,
    )


def rows(n: int, *, webinar: str = "w1", shared_code: bool = True) -> list[dict[str, str]]:
    return [
        {
            "email": f"user{i}@example.com",
            "webinar": webinar,
            "code": "c" if shared_code else f"c{i}",
        }
        for i in range(n)
    ]


# A project's emulator: ``emulator(path, options, clock=..., **seed_sections)``.
emulator = serve_project


def fast_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=6, max_time=30, base_delay=0.01, max_delay=0.05, seed=1)


def apply(
    path: Path, emu: Emulator, *, client_options: dict[str, Any] | None = None, **options: Any
) -> ApplyReport:
    """apply through the library, with fast retries, against ``emu``."""
    config = load_config(path)
    with (
        open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
        MarketoClient(
            emu.base_url,
            emu.client_id,
            emu.client_secret,
            limits=config.marketo.limits,
            retry=fast_retry(),
            **(client_options or {}),
        ) as client,
    ):
        return apply_config(config, ledger, client, ApplyOptions(**options))


def cli(argv: list[str], emu: Emulator | None, monkeypatch: Any) -> tuple[int, str, str]:
    if emu is not None:
        monkeypatch.setenv("MARKETO_BASE_URL", emu.base_url)
        monkeypatch.setenv("MARKETO_CLIENT_ID", emu.client_id)
        monkeypatch.setenv("MARKETO_CLIENT_SECRET", emu.client_secret)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def triggered(*emus: Emulator) -> Counter[tuple[int, int]]:
    """(campaign id, lead id) -> how many times it was triggered, over all emulators."""
    seen: Counter[tuple[int, int]] = Counter()
    for emu in emus:
        for t in emu.triggers():
            for lead in t["lead_ids"]:
                seen[(int(t["campaign_id"]), int(lead))] += 1
    return seen


def statuses(path: Path) -> Counter[str]:
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        return Counter(r.status for r in ledger.iter_records())
