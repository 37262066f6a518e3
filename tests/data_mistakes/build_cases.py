"""Builds the cases of tests/data_mistakes/ (config + data); run: python tests/data_mistakes/build_cases.py tests/data_mistakes

The expected outputs are written by MKTSYNC_WRITE_EXPECTED=1 pytest tests/data_mistakes and reviewed by hand.
"""

import sqlite3
import sys
from pathlib import Path

ROOT = Path(sys.argv[1])
HEAD = "version: 1\nledger: sqlite:///ledger.db\n"
REG = "email,status,webinar_id,join_code\nada@example.com,registered,wb-101,WK3D\ngrace@example.com,cancelled,wb-101,PCF5\n"


def camp(
    when=None,
    extra="",
    tokens='      my.JoinLink: "https://example.com/join/{{ row.join_code }}"\n',
    lead='{email: "{{ row.email }}"}',
    source="regs",
):
    w = f"    when: {when}\n" if when is not None else ""
    return f"""campaigns:
  reminder:
    campaign_id: 1234
    source: {source}
{w}    lead: {lead}
    tokens:
{tokens}{extra}"""


def csv_source(path="regs.csv", extra=""):
    return f"sources:\n  regs:\n    type: csv\n    path: {path}\n{extra}"


cases = {}


def case(name, command, config, files):
    cases[name] = (command, config, files)


# --- columns that are not there
case(
    "renamed-column",
    "validate",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {"regs.csv": REG.replace("join_code", "JoinCode")},
)
case(
    "renamed-column-case-only",
    "validate",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {"regs.csv": REG.replace("email,", "Email,")},
)
case(
    "missing-column-row-get",
    "validate",
    HEAD + csv_source() + camp("row.get('state') == 'registered'"),
    {"regs.csv": REG},
)
case(
    "missing-column-block-template",
    "validate",
    HEAD
    + csv_source()
    + camp(
        "row.status == 'registered'",
        tokens='      my.Body: |\n        Hello,\n        your link: {{ row["join code"] }}\n',
    ),
    {"regs.csv": REG},
)
case(
    "declared-column-not-in-header",
    "validate",
    HEAD
    + csv_source(extra="    columns:\n      email: email\n      days_left: integer\n")
    + camp("row.status == 'registered'"),
    {"regs.csv": REG},
)
case(
    "jsonl-undeclared-column",
    "validate",
    HEAD
    + "sources:\n  regs:\n    type: jsonl\n    path: regs.jsonl\n    columns:\n      email: email\n      status: string\n"
    + camp("row.status == 'registered'"),
    {"regs.jsonl": '{"email": "ada@example.com", "status": "registered", "join_code": "WK3D"}\n'},
)
case(
    "sqlite-query-lacks-column",
    "validate",
    HEAD
    + "sources:\n  regs:\n    type: sql\n    url: sqlite:///regs.db\n    query: SELECT email, status FROM registrations\n"
    + camp("row.status == 'registered'"),
    {"regs.db": "SQLITE:CREATE TABLE registrations (email TEXT, status TEXT, joincode TEXT)"},
)
case(
    "inline-rows-lack-column",
    "validate",
    HEAD
    + "sources:\n  regs:\n    type: inline\n    rows:\n      - {email: ada@example.com, status: registered, code: WK3D}\n"
    + camp("row.status == 'registered'"),
    {},
)
case(
    "duplicate-header-column",
    "validate",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {"regs.csv": "email,status,email,join_code\nada@example.com,registered,x,WK3D\n"},
)
# --- dialect and encoding
case(
    "semicolon-delimiter",
    "validate",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {"regs.csv": REG.replace(",", ";")},
)
case(
    "tab-delimiter",
    "validate",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {"regs.csv": REG.replace(",", "\t")},
)
case(
    "pipe-delimiter",
    "validate",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {"regs.csv": REG.replace(",", "|")},
)
case(
    "cp1252-file",
    "validate",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {
        "regs.csv": REG.replace("email,status", "email,statüs")
        .replace("statüs", "status")
        .replace("wb-101,WK3D", "Café,WK3D", 1)
        .encode("cp1252")
    },
)
case(
    "utf16-file",
    "validate",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {"regs.csv": REG.encode("utf-16")},
)
# --- constant when
case("when-literal-true", "validate", HEAD + csv_source() + camp('"true"'), {"regs.csv": REG})
case(
    "when-or-a-literal",
    "validate",
    HEAD + csv_source() + camp("\"row.status == 'registered' or 'attended'\""),
    {"regs.csv": REG},
)
case(
    "when-quoted-string",
    "validate",
    HEAD + csv_source() + camp("\"'registered'\""),
    {"regs.csv": REG},
)
case("when-plain-word", "validate", HEAD + csv_source() + camp("registered"), {"regs.csv": REG})
case(
    "when-no-row-field",
    "validate",
    HEAD + csv_source() + camp("now.year > 2000"),
    {"regs.csv": REG},
)
case(
    "when-text-outside-braces",
    "validate",
    HEAD + csv_source() + camp("\"status: {{ row.status == 'registered' }}\""),
    {"regs.csv": REG},
)
case("when-whole-row", "validate", HEAD + csv_source() + camp("row"), {"regs.csv": REG})
case("when-braced-literal", "validate", HEAD + csv_source() + camp('"{{ 1 }}"'), {"regs.csv": REG})
case(
    "when-not-an-expression",
    "validate",
    HEAD + csv_source() + camp("row.status = 'registered'"),
    {"regs.csv": REG},
)
# --- text compared with a number
case(
    "string-vs-number",
    "validate",
    HEAD
    + "sources:\n  regs:\n    type: csv\n    path: trials.csv\n"
    + camp("row.days_left == 3", tokens='      my.Days: "{{ row.days_left }}"\n'),
    {"trials.csv": "email,days_left\nada@example.com,3\n"},
)
case(
    "bad-column-type",
    "validate",
    HEAD
    + csv_source(extra="    columns:\n      email: mail\n")
    + camp("row.status == 'registered'"),
    {"regs.csv": REG},
)
# --- bad values, found by plan
TRIALS_COLS = "    columns:\n      email: email\n      days_left: integer\n      trial_end: date\n"


def trials(rows):
    return "email,days_left,trial_end\n" + "".join(rows)


TCAMP = camp(
    "row.days_left == 3", tokens="      my.Ends: \"{{ row.trial_end | date('%d %B') }}\"\n"
)
case(
    "empty-required-cell",
    "plan",
    HEAD + csv_source("trials.csv", TRIALS_COLS) + TCAMP,
    {"trials.csv": trials(["ada@example.com,3,2026-12-04\n", "grace@example.com,,2026-12-04\n"])},
)
case(
    "unparsable-date",
    "plan",
    HEAD + csv_source("trials.csv", TRIALS_COLS) + TCAMP,
    {"trials.csv": trials(["ada@example.com,3,2026-12-04\n", "grace@example.com,3,04/12/2026\n"])},
)
case(
    "email-column-holds-a-name",
    "plan",
    HEAD + csv_source("trials.csv", TRIALS_COLS) + TCAMP,
    {"trials.csv": trials(["ada@example.com,3,2026-12-04\n", "Grace Hopper,3,2026-12-04\n"])},
)
case(
    "integer-column-holds-a-fraction",
    "plan",
    HEAD + csv_source("trials.csv", TRIALS_COLS) + TCAMP,
    {
        "trials.csv": trials(
            ["ada@example.com,3,2026-12-04\n", "grace@example.com,2.5,2026-12-04\n"]
        )
    },
)
case(
    "boolean-column-holds-maybe",
    "plan",
    HEAD
    + csv_source("trials.csv", TRIALS_COLS + "      active: boolean\n")
    + camp("row.active", tokens='      my.Days: "{{ row.days_left }}"\n'),
    {
        "trials.csv": "email,days_left,trial_end,active\nada@example.com,3,2026-12-04,yes\ngrace@example.com,3,2026-12-04,maybe\n"
    },
)
case(
    "datetime-column-unparsable",
    "plan",
    HEAD
    + csv_source("trials.csv", "    columns:\n      signed_up: datetime\n")
    + camp("row.email != ''", tokens="      my.Since: \"{{ row.signed_up | date('%Y') }}\"\n"),
    {
        "trials.csv": "email,signed_up\nada@example.com,2026-11-01T09:00:00Z\ngrace@example.com,yesterday\n"
    },
)
case(
    "every-row-invalid",
    "plan",
    HEAD + csv_source() + camp("row.status == 'registered'", extra="    max_invalid: 100\n"),
    {
        "regs.csv": REG.replace("ada@example.com", "Ada Lovelace")
        .replace("grace@example.com", "Grace Hopper")
        .replace("cancelled", "registered")
    },
)
case(
    "jsonl-line-missing-declared-column",
    "plan",
    HEAD + "sources:\n  regs:\n    type: jsonl\n    path: trials.jsonl\n" + TRIALS_COLS + TCAMP,
    {
        "trials.jsonl": '{"email": "ada@example.com", "days_left": 3, "trial_end": "2026-12-04"}\n{"email": "grace@example.com", "trial_end": "2026-12-04"}\n'
    },
)
case(
    "one-invalid-row-by-default",
    "plan",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {"regs.csv": REG + "not-an-address,registered,wb-101,XYZ1\n"},
)
case(
    "max-invalid-share-exceeded",
    "plan",
    HEAD + csv_source() + camp("row.status == 'registered'", extra="    max_invalid: 20%\n"),
    {"regs.csv": REG + "not-an-address,registered,wb-101,XYZ1\nalso-bad,registered,wb-101,XYZ2\n"},
)
case(
    "many-invalid-rows",
    "plan",
    HEAD + csv_source() + camp("row.status == 'registered'"),
    {
        "regs.csv": REG
        + "".join(f"user{i}-at-example.com,registered,wb-101,C{i}\n" for i in range(25))
    },
)

for name, (command, config, files) in cases.items():
    d = ROOT / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "campaigns.yaml").write_text(config, encoding="utf-8")
    (d / "command").write_text(command + "\n")
    for fname, content in files.items():
        if isinstance(content, str) and content.startswith("SQLITE:"):
            p = d / fname
            p.unlink(missing_ok=True)
            with sqlite3.connect(p) as c:
                c.execute(content[7:])
                c.execute(
                    "INSERT INTO registrations VALUES ('ada@example.com', 'registered', 'WK3D')"
                )
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        (d / fname).write_bytes(data)
print(len(cases))
