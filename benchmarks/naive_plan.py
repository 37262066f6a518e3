"""The baselines for ``bench_plan``: what a competent engineer would write instead of mktsync.

    python benchmarks/naive_plan.py {jinja,format} CSV LEDGER.db

One script, two ways of rendering (issue 16, "honest baselines"):

- ``jinja`` (a, the naive-but-competent script): the campaigns' templates compiled once
  on a ``SandboxedEnvironment(undefined=StrictUndefined)``, ``template.render(row=row)``
  per template and row;
- ``format`` (b, the floor rendering allows): the same script with each template written
  by hand as a Python expression (``str.format``, ``.lower()``, ``==``).

Everything else is the same, and is what mktsync's plan does too: ``csv.DictReader``;
each row rendered for each campaign; the email trimmed and lower-cased, the key defaulting
to the lead; the ledger read with one ``SELECT`` into a dict keyed by (campaign id, key)
holding (status, token hash); an item is unchanged when it was ``sent`` and, for
``retrigger: on_change``, its token hash (mktsync's: BLAKE2b of the sorted tokens' JSON)
is the stored one; items to send grouped by (campaign id, token set) in order of first
appearance, cut into calls of 100, and written as JSON, one line per lead.  What it does
not do, and mktsync does: invalid rows, duplicate keys, the lead-id cache, lookups and
quota arithmetic, a saved-plan header.

``CAMPAIGNS`` is also what ``bench_plan`` writes into ``campaigns.yaml``, so the three
plans see the same templates.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Row = dict[str, str]


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    campaign_id: int
    retrigger: str
    # field -> (Jinja template, the same as a Python function of the row)
    when: tuple[str, Callable[[Row], bool]]
    email: tuple[str, Callable[[Row], str]]
    key: tuple[str, Callable[[Row], str]] | None
    tokens: dict[str, tuple[str, Callable[[Row], str]]]


CAMPAIGNS = (
    # One token set per lead (every join code differs): one call per lead.
    CampaignSpec(
        name="webinar-reminder",
        campaign_id=1234,
        retrigger="on_change",
        when=(
            "{{ row.status == 'registered' and row.email != '' }}",
            lambda r: r["status"] == "registered" and r["email"] != "",
        ),
        email=("{{ row.email }}", "{email}".format_map),
        key=(
            "{{ row.email | lower | trim }}/{{ row.webinar_id }}",
            lambda r: "{}/{}".format(r["email"].lower().strip(), r["webinar_id"]),
        ),
        tokens={
            "my.WebinarTitle": ("{{ row.webinar_title }}", "{webinar_title}".format_map),
            "my.JoinLink": (
                "https://webinars.example.com/join/{{ row.join_code }}",
                "https://webinars.example.com/join/{join_code}".format_map,
            ),
            "my.WebinarImage": ("{{ row.image_url }}", "{image_url}".format_map),
        },
    ),
    # One token set per webinar (40 of them): calls of 100 leads.
    CampaignSpec(
        name="webinar-series",
        campaign_id=5678,
        retrigger="never",
        when=("{{ row.status == 'registered' }}", lambda r: r["status"] == "registered"),
        email=("{{ row.email }}", "{email}".format_map),
        key=None,
        tokens={
            "my.SeriesTitle": ("{{ row.webinar_title }}", "{webinar_title}".format_map),
            "my.SeriesImage": ("{{ row.image_url }}", "{image_url}".format_map),
        },
    ),
)
MAX_LEADS_PER_CALL = 100


def token_hash(tokens: tuple[tuple[str, str], ...]) -> str:
    """mktsync's token hash, as the ledger stores it."""
    canonical = json.dumps(sorted(tokens), ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


Renderer = tuple[
    CampaignSpec,
    Callable[[Row], bool],
    Callable[[Row], str],
    Callable[[Row], str] | None,
    tuple[tuple[str, Callable[[Row], str]], ...],
]
FALSE = ("", "False", "false", "0", "None")  # what mktsync's `when` counts as false


def _renderers(mode: str) -> list[Renderer]:
    """Per campaign: (spec, when, email, key or None, ((token name, render), ...))."""
    if mode not in ("jinja", "format"):
        raise SystemExit(f"mode must be jinja or format, not {mode!r}")
    if mode == "jinja":  # the floor does not even import Jinja
        from jinja2 import StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment

        env = SandboxedEnvironment(undefined=StrictUndefined)

    def render(field: tuple[str, Callable[[Row], Any]]) -> Callable[[Row], Any]:
        if mode == "format":
            return field[1]
        template = env.from_string(field[0])
        return lambda row: template.render(row=row)

    def when(field: tuple[str, Callable[[Row], bool]]) -> Callable[[Row], bool]:
        if mode == "format":
            return field[1]
        template = env.from_string(field[0])
        return lambda row: template.render(row=row).strip() not in FALSE

    return [
        (
            spec,
            when(spec.when),
            render(spec.email),
            render(spec.key) if spec.key else None,
            tuple((f"{{{{{n}}}}}", render(t)) for n, t in sorted(spec.tokens.items())),
        )
        for spec in CAMPAIGNS
    ]


def plan(mode: str, csv_path: Path, ledger_path: Path, out: Any) -> dict[str, int]:
    """Plan every campaign over the CSV against the ledger; write the calls to ``out``."""
    campaigns = _renderers(mode)
    known: dict[tuple[int, str], tuple[str, str]] = {}
    if ledger_path.exists():
        ids = ",".join(str(spec.campaign_id) for spec, *_ in campaigns)
        con = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
        for cid, key, status, thash in con.execute(
            f"SELECT campaign_id, key, status, token_hash FROM items WHERE campaign_id IN ({ids})"
        ):
            known[cid, key] = (status, thash)
        con.close()
    counts = {"send": 0, "unchanged": 0, "filtered": 0}
    groups: dict[tuple[int, tuple[tuple[str, str], ...]], list[tuple[str, str, int]]] = {}
    with csv_path.open(encoding="utf-8", newline="") as f:
        for number, row in enumerate(csv.DictReader(f), start=2):
            for spec, when, email_of, key_of, token_renders in campaigns:
                if not when(row):
                    counts["filtered"] += 1
                    continue
                email = email_of(row).strip().lower()
                key = key_of(row).strip() if key_of else email
                tokens = tuple((name, render(row)) for name, render in token_renders)
                record = known.get((spec.campaign_id, key))
                if (
                    record is not None
                    and record[0] == "sent"
                    and (spec.retrigger == "never" or record[1] == token_hash(tokens))
                ):
                    counts["unchanged"] += 1
                    continue
                counts["send"] += 1
                groups.setdefault((spec.campaign_id, tokens), []).append((key, email, number))
    calls = 0
    for (campaign_id, tokens), members in groups.items():
        for start in range(0, len(members), MAX_LEADS_PER_CALL):
            calls += 1
            out.write(
                f'{{"campaign_id": {campaign_id}, "tokens": {json.dumps(dict(tokens))}, "leads": ['
            )
            out.write(
                ",".join(
                    "\n  "
                    + json.dumps(
                        {"action": "trigger", "key": k, "lead": e, "email": e, "row": n},
                        ensure_ascii=False,
                    )
                    for k, e, n in members[start : start + MAX_LEADS_PER_CALL]
                )
            )
            out.write("\n]}\n")
    counts["calls"] = calls
    return counts


if __name__ == "__main__":
    mode, csv_name, ledger_name = sys.argv[1:4]
    with open("/dev/null", "w", encoding="utf-8") as sink:
        print(plan(mode, Path(csv_name), Path(ledger_name), sink))
