"""Builders for ``Config``/``Campaign``/``SourceSpec`` records, since tests do not go through YAML.

Imported by name (pytest puts this folder on sys.path); ``conftest.py`` wraps them in fixtures.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mktsync.config.model import (
    Campaign,
    Config,
    EnvString,
    LeadSpec,
    MarketoSettings,
    Position,
    SourceSpec,
    Template,
    TokenSpec,
)
from mktsync.items import FilteredRow, InvalidItem, Item
from mktsync.render import iter_items

Result = Item | InvalidItem | FilteredRow


def template(text: str, field: str = "tokens.x", line: int = 10) -> Template:
    return Template(
        text=text, field=field, position=Position(file="campaigns.yaml", line=line, column=5)
    )


def campaign(
    *,
    source: str = "rows",
    when: str | None = None,
    lead_id: str | None = None,
    email: str | None = None,
    key: str | None = None,
    tokens: Mapping[str, str] | None = None,
    fields: Mapping[str, str] | None = None,
    create_missing: bool = False,
    max_invalid: int | None = None,
    name: str = "webinar-reminder",
) -> Campaign:
    if lead_id is None and email is None:
        email = "{{ row.email }}"
    return Campaign(
        name=name,
        campaign_id=1234,
        source=source,
        lead=LeadSpec(
            id=template(lead_id, "lead.id") if lead_id is not None else None,
            email=template(email, "lead.email") if email is not None else None,
            fields=tuple((k, template(v, f"lead.fields.{k}")) for k, v in (fields or {}).items()),
        ),
        when=template(when, "when") if when is not None else None,
        key=template(key, "key") if key is not None else None,
        tokens=tuple(
            TokenSpec(name=f"{{{{my.{k}}}}}", template=template(v, f"tokens.my.{k}"))
            for k, v in (tokens or {}).items()
        ),
        max_invalid=max_invalid,
        create_missing=create_missing,
        position=Position(file="campaigns.yaml", line=30, column=3),
    )


def source(
    kind: str = "inline", base_dir: Path = Path("."), name: str = "rows", **options: Any
) -> SourceSpec:
    return SourceSpec(
        name=name,
        type=kind,
        options=options,
        base_dir=base_dir,
        position=Position(file="campaigns.yaml", line=5, column=3),
    )


def config(
    *sources: SourceSpec, campaigns: tuple[Campaign, ...] = (), base_dir: Path = Path(".")
) -> Config:
    return Config(
        path=base_dir / "campaigns.yaml",
        base_dir=base_dir,
        version=1,
        marketo=MarketoSettings(),
        ledger=EnvString(raw="sqlite:///.mktsync/ledger.db"),
        sources={s.name: s for s in sources},
        campaigns={c.name: c for c in campaigns},
        digest="0" * 64,
    )


def run(rows: list[dict[str, Any]], **campaign_options: Any) -> list[Result]:
    """Render inline ``rows`` (row numbers 1, 2, ...) for a campaign built from the options."""
    the_campaign = campaign(**campaign_options)
    return list(iter_items(config(source(rows=rows)), the_campaign))


def one(row: dict[str, Any], **campaign_options: Any) -> Result:
    (result,) = run([row], **campaign_options)
    return result
