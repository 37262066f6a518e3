"""Writes mktsync/schema/campaigns.schema.json and its copy schema/campaigns.schema.json.

The schema is written here as Python so that pieces used in several places (a template,
a path, the ledger, a My Token name, a lead field name...) are defined once; run
`python tools/schema_source.py` after editing, then `python tools/gen_config_docs.py`
(docs/configuration.md is generated from the schema). tests/config/test_load.py
(`test_schema_copies_agree_with_their_source`) fails when either JSON file differs from
what this script produces, and tests/ci/test_precommit_and_docs.py when the reference
is stale.

Every `default` here is the one place that default is written: mktsync reads them from
the packaged schema (mktsync/config/defaults.py) for the records it builds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TOKEN_NAME = r"^(my\.[^{}]+|\{\{\s*my\.[^{}]+?\s*\}\})$"
FIELD_NAME = "^[A-Za-z][A-Za-z0-9_]*$"  # a Marketo lead field's REST API name
MAX_ID = 2147483647  # the largest campaign id accepted: a signed 32-bit integer
RETRIGGER = ["never", "on_change"]
TEMPLATE = {
    "type": "string",
    "minLength": 1,
    "description": "A Jinja template rendered for each row, in a sandbox. Names available: `row` "
    "(the source row), `now` (the run's start, UTC) and `today` (its date); filters in "
    "docs/templates.md.",
}
ENV_STRING_DESC = (
    " May use `${VAR}` or `${VAR:-default}`, read from the environment only when needed."
)
PATH = {
    "type": "string",
    "minLength": 1,
    "description": "Path to the file, relative to the config file.",
    "examples": ["data/registrations.csv"],
}
ENCODING = {
    "type": "string",
    "default": "utf-8",
    "description": "Text encoding of the file. A UTF-8 byte-order mark is always accepted.",
    "examples": ["utf-8", "latin-1", "cp1252"],
}
COLUMN_TYPES = ["string", "integer", "number", "boolean", "date", "datetime", "email"]
COLUMN_TYPE = {
    "enum": COLUMN_TYPES,
    "description": "The column's type; values are converted before templates see them.",
}
COLUMNS = {
    "type": "object",
    "description": "The source's columns and their types, checked by `validate` against what templates "
    "read. Each value is a type (`string`, `integer`, `number`, `boolean`, `date`, `datetime`, "
    "`email`) or a mapping with `type`, `required` (default true: a missing or empty value makes "
    "the row invalid) and `format` (a `strptime` format for dates). A value that does not convert "
    "makes the row invalid. Without `columns:`, CSV cells are strings.",
    "additionalProperties": {
        "if": {"type": "string"},
        "then": COLUMN_TYPE,
        "else": {
            "type": "object",
            "properties": {
                "type": COLUMN_TYPE,
                "required": {
                    "type": "boolean",
                    "default": True,
                    "description": "A missing or empty value makes the row invalid.",
                },
                "format": {
                    "type": "string",
                    "minLength": 1,
                    "description": "For `date` and `datetime`: a `strptime` format such as "
                    "`%d/%m/%Y`; default ISO 8601.",
                },
            },
            "required": ["type"],
            "additionalProperties": False,
        },
    },
    "examples": [{"days_left": "integer", "trial_end": "date", "email": {"type": "email"}}],
}
DESCRIPTION = {
    "type": "string",
    "description": "Free text for readers of the file; ignored by mktsync.",
}


def source_kind(kind: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
        "then": {
            "description": description,
            "type": "object",
            "properties": {
                "type": {"const": kind},
                "description": DESCRIPTION,
                "columns": {
                    "$ref": "#/$defs/columns",
                    "description": COLUMNS["description"],
                },
                **properties,
            },
            "required": ["type", *required],
            "additionalProperties": False,
        },
    }


# The host rule (mktsync/config/dburl.py) for the ledgers and a sql source's url.
HOST_RULE_DESC = (
    " Any URL but `sqlite:///` must be exactly one `${VAR}` with no default (e.g. "
    "`${MKTSYNC_LEDGER_URL}`): the workflow's variable names the host, the file never does. "
    "A default may only be a SQLite file (`${VAR:-sqlite:///.mktsync/ledger.db}`). Read from "
    "the environment only when needed."
)
LEDGER = {
    "type": "string",
    "pattern": r"^(sqlite://|postgresql://|postgres://|\$\{)",
    "default": "sqlite:///.mktsync/ledger.db",
    "description": "Where the triggers already sent are remembered. A SQLite path is relative to "
    "the config file; a PostgreSQL URL shares one ledger between CI runners." + HOST_RULE_DESC,
    "examples": [
        "sqlite:///.mktsync/ledger.db",
        "${MKTSYNC_LEDGER_URL:-sqlite:///.mktsync/ledger.db}",
    ],
}


TIMEZONE = {
    "type": "string",
    "minLength": 1,
    "default": "UTC",
    "description": "The IANA time zone (`Europe/Berlin`, `America/New_York`) that decides what "
    "`today` is in templates: `today` is the date of the run's instant (`now`: the clock when "
    "`plan` or `apply` starts, or `--now` / `MKTSYNC_NOW`) in this zone, and `now` is shown "
    "in it. `validate` refuses a name the time zone database does not know.",
    "examples": ["UTC", "America/New_York"],
}


# Pieces a campaign (or a schedule) and an environment's override of it share.
CAMPAIGN_ID = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_ID,
    "description": "The Marketo smart campaign's id. It must be a trigger campaign with a "
    "'Campaign is Requested' trigger whose source is Web Service API, and be active.",
    "examples": [1234],
}
BATCH_CAMPAIGN_ID = {
    **CAMPAIGN_ID,
    "description": "The Marketo batch smart campaign's id (not a trigger campaign).",
    "examples": [3001],
}
TOKENS = {
    "type": "object",
    "description": "My Token values (templates), sent with the trigger. Names are `my.Name` "
    "or `{{my.Name}}`; each must exist on the campaign's program or a folder above it. At most 100.",
    "propertyNames": {"pattern": TOKEN_NAME},
    "maxProperties": 100,
    "additionalProperties": {
        "type": ["string", "number", "boolean"],
        "description": "A template for the token's value.",
    },
    "examples": [{"my.WebinarTitle": "{{ row.webinar_title }}"}],
}
SCHEDULE_TOKENS = {
    "type": "object",
    "description": "My Token values (templates) for the run, as for campaigns.",
    "propertyNames": {"pattern": TOKEN_NAME},
    "maxProperties": 100,
    "additionalProperties": {"type": ["string", "number", "boolean"]},
}
FIELDS = {
    "type": "object",
    "description": "Marketo lead fields (REST API names, e.g. `webinarJoinLink`) mapped to templates "
    "rendered per row. `apply` writes them to each lead (up to 300 leads a call) before "
    "triggering, so a per-person value need not be a My Token (docs/fields.md).",
    "propertyNames": {"pattern": FIELD_NAME},
    "additionalProperties": {"type": "string"},
    "examples": [{"webinarJoinLink": "{{ row.join_url }}"}],
}
CLONE_TO_PROGRAM = {
    **TEMPLATE,
    "description": "Clone the campaign's program under this name and run the clone "
    "(Marketo's `cloneToProgramName`; at most 20 clones a day).",
}


# What an environment may write over a campaign or a schedule (mktsync/config/environments.py
# merges them). "x-fixed" names the keys that stay the campaign's own, and why: schema.py
# words an override of one of them with this reason instead of "unknown key".
FIXED_WHY = (
    "an environment overrides ids and values only; who is sent and what counts as the same "
    "send are the same in every environment (docs/configuration.md, `environments.NAME.campaigns`)"
)
OVERRIDES_WHY = (
    " Only ids and values may differ between environments. Who is sent (`source`, `when`, "
    "`lead`), what counts as the same send (`key`, `retrigger`, a schedule's `run_at`) and the "
    "guard rails (`max_invalid`, `max_calls`, `create_missing`, `missing_leads`, "
    "`expect_skips`, `allow_protected_fields`) are the campaign's own in every environment: "
    "the sandbox is where a change is tried before production, and a sandbox run that chose "
    "other people, or counted other sends as the same, would prove nothing about the production "
    "run; a plan for one environment differs from another's only in ids and values. Writing "
    "one of those keys here is an error that says so."
)
CAMPAIGN_OVERRIDE = {
    "type": "object",
    "description": "This environment's id and values for the campaign of the same name under "
    "the top-level `campaigns:`; what is not given here is the campaign's own. In this "
    "environment (`--env`) the campaign is the top-level one with these keys written over it, "
    "tokens and fields merged by name: plan, apply, the ledger and a saved plan all see only "
    "the result. Program and folder ids are never written in the file (apply reads each "
    "campaign's program, and the folders above it, from Marketo), so the campaign's id is the "
    "only id an instance needs." + OVERRIDES_WHY,
    "properties": {
        "description": DESCRIPTION,
        "campaign_id": {
            **CAMPAIGN_ID,
            "description": "The campaign's id in this environment's Marketo instance.",
            "examples": [5678],
        },
        "tokens": {
            **TOKENS,
            "description": "Values (templates) for My Tokens the campaign declares, written over "
            "its own by name (`my.Name` and `{{my.Name}}` are one token); the others keep theirs. "
            "A token the campaign does not declare is an error.",
            "examples": [{"my.JoinLink": "https://sandbox.example.com/join/{{ row.join_code }}"}],
        },
        "fields": {
            **FIELDS,
            "description": "Values (templates) for lead fields the campaign declares under "
            "`fields:`, written over its own by name; the others keep theirs. A field the "
            "campaign does not declare is an error.",
            "examples": [
                {"webinarJoinLink": "https://sandbox.example.com/join/{{ row.join_code }}"}
            ],
        },
    },
    "additionalProperties": False,
    "x-fixed": {
        "keys": [
            "source",
            "when",
            "lead",
            "key",
            "retrigger",
            "max_invalid",
            "max_calls",
            "create_missing",
            "missing_leads",
            "expect_skips",
            "allow_protected_fields",
        ],
        "why": FIXED_WHY,
    },
}
SCHEDULE_OVERRIDE = {
    "type": "object",
    "description": "This environment's id and values for the schedule of the same name under "
    "the top-level `schedules:`; what is not given here is the schedule's own.",
    "properties": {
        "description": DESCRIPTION,
        "campaign_id": {
            **BATCH_CAMPAIGN_ID,
            "description": "The batch campaign's id in this environment's Marketo instance.",
            "examples": [7001],
        },
        "tokens": {
            **SCHEDULE_TOKENS,
            "description": "Values (templates) for My Tokens the schedule declares, written over "
            "its own by name; a token it does not declare is an error.",
        },
        "clone_to_program": {
            **CLONE_TO_PROGRAM,
            "description": "The name of the program clone in this environment (a template); only "
            "for a schedule that declares `clone_to_program` itself.",
        },
    },
    "additionalProperties": False,
    "x-fixed": {"keys": ["source", "when", "key", "run_at", "retrigger"], "why": FIXED_WHY},
}

MARKETO_DESC = (
    "How to reach the Marketo instance. Credentials come from the environment "
    "(`${MARKETO_CLIENT_ID}`...); `validate` and `plan` never need them."
)

SCHEDULE = {
    "type": "object",
    "description": "A Marketo batch campaign run at a time, with My Tokens "
    "(`schedule.json`). Without `source` it is one run; with one, each row gives a run.",
    "properties": {
        "description": DESCRIPTION,
        "campaign_id": BATCH_CAMPAIGN_ID,
        "source": {
            "type": "string",
            "description": "A source (under `sources:`): one run per row, told apart by `key`.",
        },
        "when": {
            **TEMPLATE,
            "description": "A condition deciding whether a row gives a run, as for campaigns.",
        },
        "run_at": {
            **TEMPLATE,
            "description": "When the campaign runs: ISO 8601 with a UTC offset "
            "(`2026-12-01T15:00:00+00:00`), or a template over the row rendering one. A time "
            "in the past is refused at plan time.",
            "examples": ["2026-12-01T15:00:00+01:00", "{{ row.starts_at }}"],
        },
        "key": {
            **TEMPLATE,
            "description": "What counts as 'the same run' in the ledger. Required with `source`; "
            "default: the schedule's name.",
            "examples": ["{{ row.webinar_id }}"],
        },
        "retrigger": {
            "enum": RETRIGGER,
            "default": "never",
            "description": "`never`: a key is scheduled once; a change is shown, not sent. "
            "`on_change`: scheduled again when its tokens or `run_at` change (Marketo cannot "
            "unschedule the earlier run through REST).",
        },
        "tokens": SCHEDULE_TOKENS,
        "clone_to_program": CLONE_TO_PROGRAM,
    },
    "required": ["campaign_id", "run_at"],
    "dependentRequired": {"source": ["key"]},
    "additionalProperties": False,
}

SOURCE_TYPES = ["csv", "json", "jsonl", "inline", "sql"]

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://mktsync.dev/schema/campaigns.schema.json",
    "title": "mktsync campaigns.yaml",
    "description": "Marketo Engage smart campaigns triggered from data: sources of rows, and campaigns "
    "that turn each row into a lead and its My Token values.",
    "type": "object",
    "properties": {
        "version": {
            "const": 1,
            "description": "Version of this file's format. Always 1.",
        },
        "marketo": {"$ref": "#/$defs/marketo", "description": MARKETO_DESC},
        "ledger": LEDGER,
        "timezone": TIMEZONE,
        "environments": {
            "type": "object",
            "description": "Named Marketo instances (`sandbox`, `production`), each with its own "
            "`marketo:` settings and `ledger:`. `--env NAME` (or `MKTSYNC_ENV`) picks one; with "
            "environments declared, `apply` needs one. The top-level `marketo:` and `ledger:` "
            "stay the default for runs without `--env`; an environment's `marketo:` keys are "
            "written over the top-level ones, and its `campaigns:` and `schedules:` give its own "
            "campaign ids and values. `validate` checks every environment as it sees the file "
            "(with or without `--env`, which only has to name one of them).",
            "propertyNames": {"pattern": NAME},
            "additionalProperties": {
                "type": "object",
                "description": "One Marketo instance and the ledger that belongs to it.",
                "properties": {
                    "description": DESCRIPTION,
                    "marketo": {
                        "$ref": "#/$defs/marketo",
                        "description": MARKETO_DESC
                        + " Here: this instance's keys, written over the top-level `marketo:`.",
                    },
                    "ledger": {
                        **{k: v for k, v in LEDGER.items() if k != "default"},
                        "description": "This instance's own ledger (required: a ledger belongs "
                        "to one Marketo instance)." + HOST_RULE_DESC,
                    },
                    "timezone": {
                        **{k: v for k, v in TIMEZONE.items() if k != "default"},
                        "description": "This environment's time zone for `today`, written over "
                        "the top-level `timezone:`.",
                    },
                    "campaigns": {
                        "type": "object",
                        "description": "This environment's own ids and values for campaigns "
                        "declared under the top-level `campaigns:`, by the same name: a sandbox "
                        "has other campaign ids than production, and may need other token or "
                        "lead field values (a sandbox join link). A name the top level does not "
                        "declare is an error. Only `campaign_id`, `tokens` and `fields` may be "
                        "given: see below for why.",
                        "propertyNames": {"pattern": NAME},
                        "additionalProperties": {"$ref": "#/$defs/campaign_override"},
                    },
                    "schedules": {
                        "type": "object",
                        "description": "This environment's own ids and values for schedules "
                        "declared under the top-level `schedules:`, by the same name, as for "
                        "`campaigns`: `campaign_id`, `tokens` and `clone_to_program` only.",
                        "propertyNames": {"pattern": NAME},
                        "additionalProperties": {"$ref": "#/$defs/schedule_override"},
                    },
                },
                "required": ["ledger"],
                "additionalProperties": False,
            },
        },
        "schedules": {
            "type": "object",
            "description": "Named batch campaign runs: each schedules a Marketo batch campaign at "
            "`run_at` with My Tokens, once per key (ledgered like a trigger).",
            "propertyNames": {"pattern": NAME},
            "additionalProperties": {"$ref": "#/$defs/schedule"},
        },
        "max_calls": {
            "type": "integer",
            "minimum": 1,
            "description": "Refuse a run (plan and apply) that would make more API calls than this in total. "
            "Set, it also allows a run past the daily quota (apply stops at the quota, exit 4, and the next "
            "run resumes); unset, such a run is refused.",
        },
        "max_value_bytes": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1_000_000,
            "default": 65536,
            "description": "The largest rendered key, token or lead field, in UTF-8 bytes; a row "
            "rendering a longer one is an invalid item. Default 64 KB (see docs/security.md).",
        },
        "sources": {
            "type": "object",
            "description": "Named sources of rows. Each campaign reads one of them.",
            "propertyNames": {"pattern": NAME},
            "additionalProperties": {"$ref": "#/$defs/source"},
        },
        "campaigns": {
            "type": "object",
            "description": "Named campaigns. The name is for people: renaming a campaign changes nothing "
            "in the ledger; changing its `campaign_id` or `key` does.",
            "propertyNames": {"pattern": NAME},
            "additionalProperties": {"$ref": "#/$defs/campaign"},
        },
    },
    "required": ["version", "sources", "campaigns"],
    "additionalProperties": False,
    "$defs": {
        "columns": COLUMNS,
        "marketo": {
            "type": "object",
            "description": MARKETO_DESC,
            "properties": {
                "base_url": {
                    "type": "string",
                    "description": "The instance's REST root, shown in Admin > Web Services as the endpoint "
                    "without `/rest`." + ENV_STRING_DESC,
                    "examples": ["${MARKETO_BASE_URL}", "https://123-ABC-456.mktorest.com"],
                },
                "client_id": {
                    "type": "string",
                    "description": "Client ID of the LaunchPoint custom service." + ENV_STRING_DESC,
                    "examples": ["${MARKETO_CLIENT_ID}"],
                },
                "client_secret": {
                    "type": "string",
                    "description": "Client secret of the custom service. Write it as a `${VAR}` reference, "
                    "never literally." + ENV_STRING_DESC,
                    "examples": ["${MARKETO_CLIENT_SECRET}"],
                },
                "limits": {
                    "type": "object",
                    "description": "Marketo's limits as this tool must respect them. Defaults are Marketo's "
                    "documented limits; lower them to leave room for other integrations.",
                    "properties": {
                        "calls": {
                            "type": "integer",
                            "minimum": 1,
                            "default": 100,
                            "description": "API calls allowed per window (Marketo: 100 per 20 seconds).",
                        },
                        "window_seconds": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": 3600,
                            "default": 20,
                            "description": "Length of the sliding rate window, in seconds: "
                            "Marketo's is 20. With shared limits each call holds its slot for "
                            "its own config's window, so a longer one slows every other config "
                            "on the instance: leave room with `safety_margin` instead.",
                        },
                        "concurrency": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 10,
                            "default": 10,
                            "description": "Calls in flight at once (Marketo: 10 per instance).",
                        },
                        "daily_quota": {
                            "type": "integer",
                            "minimum": 1,
                            "default": 50000,
                            "description": "API calls per day for the instance (Marketo: usually 50,000): "
                            "plans show their share of it, and plan and apply refuse a run that needs more, "
                            "unless `max_calls` allows it.",
                        },
                        "safety_margin": {
                            "type": "number",
                            "minimum": 0,
                            "maximum": 0.9,
                            "default": 0,
                            "description": "Share of `calls` left unused for other integrations on the same "
                            "instance, e.g. 0.5 to use at most 50 calls per 20 seconds.",
                        },
                        "quota_reserve": {
                            "type": "number",
                            "minimum": 0,
                            "maximum": 0.9,
                            "default": 0.1,
                            "description": "Share of `daily_quota` that `apply` leaves to the other "
                            "integrations of the instance (a CRM sync): before its first call it reads "
                            "today's usage of every API user (`stats/usage.json`) and sends no call that "
                            "would eat into this reserve; what does not fit waits for the next run "
                            "(exit 4). 0.1 keeps 5,000 of 50,000 calls; 0 holds apply to the quota alone.",
                        },
                        "shared": {
                            "type": "string",
                            "minLength": 1,
                            "description": "The PostgreSQL database where `apply` keeps the instance's limits, "
                            "shared with every mktsync process, on any machine, that names the same database: "
                            "one rate window and one set of concurrency slots per Marketo instance. Exactly "
                            "one `${VAR}` without a default (the workflow chooses the host), whose value is a "
                            "`postgresql://` URL. Without it the limits are shared through the ledger's "
                            "database when the ledger is PostgreSQL, else through a file that every run of "
                            "this user on this machine reads (docs/ci.md, one instance and many runners). "
                            "A run that loses the database stops sending (exit 1).",
                            "examples": ["${MKTSYNC_LIMITS_URL}"],
                        },
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
        "schedule": SCHEDULE,
        "campaign_override": CAMPAIGN_OVERRIDE,
        "schedule_override": SCHEDULE_OVERRIDE,
        "source": {
            "type": "object",
            "description": "A source of rows.",
            "properties": {
                "type": {
                    "enum": SOURCE_TYPES,
                    "description": "The kind of source: `csv`, `json` (an array of objects), `jsonl` (one "
                    "object per line), `inline` (rows written here) or `sql` (a query).",
                }
            },
            "required": ["type"],
            "allOf": [
                source_kind(
                    "csv",
                    "A CSV file with a header row.",
                    {
                        "path": PATH,
                        "delimiter": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 1,
                            "default": ",",
                            "description": "The character between cells.",
                            "examples": [",", ";", "\t"],
                        },
                        "quotechar": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 1,
                            "default": '"',
                            "description": "The character that quotes a cell holding the delimiter or "
                            "a newline.",
                        },
                        "encoding": ENCODING,
                    },
                    ["path"],
                ),
                source_kind(
                    "json",
                    "A JSON file holding an array of objects, or an object with such an array inside.",
                    {
                        "path": PATH,
                        "encoding": ENCODING,
                        "records_path": {
                            "type": "string",
                            "pattern": r"^[^.]+(\.[^.]+)*$",
                            "description": "Dotted path to the array inside the top-level object.",
                            "examples": ["data.registrations"],
                        },
                    },
                    ["path"],
                ),
                source_kind(
                    "jsonl",
                    "A file with one JSON object per line.",
                    {"path": PATH, "encoding": ENCODING},
                    ["path"],
                ),
                source_kind(
                    "inline",
                    "Rows written in this file: small lists, tests, one-off sends.",
                    {
                        "rows": {
                            "type": "array",
                            "description": "The rows, each a mapping of column to value.",
                            "items": {"type": "object"},
                        }
                    },
                    ["rows"],
                ),
                source_kind(
                    "sql",
                    "The rows of a SQL query. SQLite needs nothing more; other databases need "
                    "`pip install mktsync[sql]` and their driver.",
                    {
                        "url": {
                            "type": "string",
                            "minLength": 1,
                            "description": "A database URL (SQLAlchemy form). A SQLite path is relative to "
                            "the config file and must stay inside its folder." + HOST_RULE_DESC,
                            "examples": [
                                "sqlite:///data/app.db",
                                "${MKTSYNC_WAREHOUSE_URL}",
                            ],
                        },
                        "query": {
                            "type": "string",
                            "minLength": 1,
                            "description": "The query; each result row is a row, named by its columns.",
                        },
                        "chunk_size": {
                            "type": "integer",
                            "minimum": 1,
                            "default": 1000,
                            "description": "Rows fetched at a time.",
                        },
                        "timeout_seconds": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": 3600,
                            "default": 120,
                            "description": "SQLite: stop the query after this many seconds "
                            "(a recursive query that never ends).",
                        },
                    },
                    ["url", "query"],
                ),
            ],
        },
        "campaign": {
            "type": "object",
            "description": "A Marketo smart campaign triggered for the rows of one source.",
            "properties": {
                "description": DESCRIPTION,
                "campaign_id": CAMPAIGN_ID,
                "source": {
                    "type": "string",
                    "description": "The name of the source (under `sources:`) whose rows feed this campaign.",
                },
                "when": {
                    **TEMPLATE,
                    "description": "A condition deciding whether a row is in: an expression such as "
                    "`row.status == 'registered'` (no braces needed), or a template whose rendering "
                    "`False`, `false`, `0`, `None` or nothing leaves the row out (shown as filtered in the "
                    "plan). A condition that is the same for every row (a literal, a plain word, no `row` "
                    "field) is an error.",
                    "examples": ["row.status == 'registered'", "row.trial_ends - today == 3"],
                },
                "lead": {
                    "type": "object",
                    "description": "How a row names its Marketo lead: by `id` or by `email` (exactly one).",
                    "properties": {
                        "id": {
                            **TEMPLATE,
                            "description": "A template rendering the Marketo lead id (a positive whole number).",
                            "examples": ["{{ row.marketo_id }}"],
                        },
                        "email": {
                            **TEMPLATE,
                            "description": "A template rendering the lead's email; `apply` looks the lead up.",
                            "examples": ["{{ row.email }}"],
                        },
                        "fields": {
                            "type": "object",
                            "description": "Lead fields (templates) used when `create_missing` creates a lead.",
                            "additionalProperties": {"type": "string"},
                            "examples": [{"firstName": "{{ row.first_name }}"}],
                        },
                    },
                    "oneOf": [{"required": ["id"]}, {"required": ["email"]}],
                    "additionalProperties": False,
                },
                "fields": FIELDS,
                "allow_protected_fields": {
                    "type": "array",
                    "description": "Protected lead fields (Marketo's identity, consent, ownership and "
                    "system fields such as `email`, `unsubscribed`, `leadPartitionId`: the list is in "
                    "docs/fields.md) this campaign may write under `fields` or `lead.fields`, each with "
                    "the reason, which every plan shows. Naming a consent flag (`unsubscribed`, "
                    "`marketingSuspended`, `doNotCall`, ...) allows withdrawing consent (`true`); a value "
                    "that would grant it (`false`, `0`, empty) also needs `grant_consent: true`, else the "
                    "row is invalid.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {
                                "type": "string",
                                "pattern": FIELD_NAME,
                                "description": "The field's REST API name, spelled as under `fields`.",
                            },
                            "reason": {
                                "type": "string",
                                "pattern": r"\S",
                                "x-expected": "the reason in words: why this campaign writes the field",
                                "description": "Why this campaign writes the field: shown in every plan "
                                "and pull-request comment.",
                            },
                            "grant_consent": {
                                "type": "boolean",
                                "default": False,
                                "description": "A consent flag only: values may also grant consent "
                                "(`false`, `0`, empty: re-subscribe, lift a suspension). Without it "
                                "such a row is invalid, never sent.",
                            },
                        },
                        "required": ["field", "reason"],
                        "additionalProperties": False,
                    },
                    "examples": [
                        [
                            {
                                "field": "unsubscribed",
                                "reason": "opt-outs collected at events (MKT-12)",
                            }
                        ]
                    ],
                },
                "key": {
                    **TEMPLATE,
                    "description": "What counts as 'the same trigger' in the ledger. Default: the lead "
                    "(each lead is triggered once). Include more to trigger a lead again for a new event.",
                    "examples": ["{{ row.email }}/{{ row.webinar_id }}"],
                },
                "retrigger": {
                    "enum": RETRIGGER,
                    "default": "never",
                    "description": "`never`: a key is triggered once. `on_change`: triggered again when its "
                    "rendered tokens change.",
                },
                "tokens": TOKENS,
                "max_invalid": {
                    "oneOf": [
                        {"type": "integer", "minimum": 0},
                        # 0% to 100%: a share over the whole is a typo, not a limit.
                        {
                            "type": "string",
                            "pattern": r"^(100(\.0+)?|\d{1,2}(\.\d+)?)%$",
                            "x-expected": "a count, or a share from 0% to 100% such as '2%'",
                        },
                    ],
                    "default": 0,
                    "description": "How many rows may be invalid (cannot be rendered) before `plan` and "
                    "`apply` fail: a count, or a share of the source's rows such as `2%`. Default 0: "
                    "any invalid row fails the run. A source whose every row is invalid always fails.",
                    "examples": [25, "2%"],
                },
                "max_calls": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Refuse a run that would make more API calls than this for this campaign.",
                },
                "create_missing": {
                    "type": "boolean",
                    "default": False,
                    "description": "Create leads for emails Marketo does not know (with `lead.fields`), "
                    "instead of reporting them as missing leads.",
                },
                "missing_leads": {
                    "enum": ["fail", "skip"],
                    "default": "fail",
                    "description": "A lead Marketo does not know (email or id not found) is reported as a "
                    "missing lead. `fail`: `apply` exits 3. `skip`: `apply` exits 0 with a warning that "
                    "counts them. Either way nothing is recorded as sent for them and they are tried "
                    "again next run.",
                },
                "expect_skips": {
                    "type": "boolean",
                    "default": False,
                    "description": "Say that Marketo may skip re-sent leads and that this is intended. "
                    "Without it, when the campaign's qualification rule is `once`, `apply` refuses the "
                    "campaign if the plan re-triggers leads with changed tokens (`retrigger: on_change`), "
                    "and `plan` warns: Marketo answers success but skips those leads.",
                },
            },
            "required": ["campaign_id", "source", "lead"],
            "additionalProperties": False,
        },
    },
}


def render() -> str:
    return json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"


TARGETS = [Path("mktsync/schema/campaigns.schema.json"), Path("schema/campaigns.schema.json")]

if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    text = render()
    for target in TARGETS:
        (root / target).write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {len(text)} bytes to {', '.join(map(str, TARGETS))}\n")
