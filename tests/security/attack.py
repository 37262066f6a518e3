"""A pull request's checkout, as an attacker would shape it, and a way to run mktsync on it.

``Checkout`` builds a repository folder in ``tmp_path`` with a secret planted *outside*
it (a file, a ``.git/config`` inside it, an environment variable), writes a config,
and runs ``mktsync.cli.main`` in-process, capturing both streams and the time taken.
"""

from __future__ import annotations

import io
import json
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from mktsync.cli import main

SECRET = "MKTSYNC-PLANTED-SECRET-5f0c1e"
SECRET_ENV = "RUNNER_PLANTED_SECRET"
BUDGET_SECONDS = 5.0  # generous: every case is refused long before this


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err


class Checkout:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.outside = tmp_path / "outside"
        self.outside.mkdir()
        self.secret_file = self.outside / "credentials.csv"
        self.secret_file.write_text(f"email,key\n{SECRET}@example.com,{SECRET}\n")
        self.repo = tmp_path / "repo"
        (self.repo / "data").mkdir(parents=True)
        (self.repo / "data" / "people.csv").write_text(
            "email,name\nada@example.com,Ada\nbob@example.com,Bob\n"
        )
        (self.repo / ".git").mkdir()
        (self.repo / ".git" / "config").write_text(
            f'[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic {SECRET}\n'
        )
        self.config = self.repo / "campaigns.yaml"

    def write(self, text: str) -> Path:
        self.config.write_text(textwrap.dedent(text))
        return self.config

    def run(self, *argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        start = time.monotonic()
        code = main([*argv], stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue(), time.monotonic() - start)


def csv_config(path: str, *, extra: str = "", kind: str = "csv") -> str:
    """A config whose one source reads ``path``, otherwise valid."""
    return f"""\
version: 1
{extra}
sources:
  people:
    type: {kind}
    path: {path}
campaigns:
  welcome:
    campaign_id: 1
    source: people
    lead: {{email: "{{{{ row.email }}}}"}}
    key: "{{% for k, v in row.items() %}}{{{{ k }}}}={{{{ v }}}};{{% endfor %}}"
"""


def sql_config(url: str, query: str = "SELECT email FROM leads", *, extra: str = "") -> str:
    return f"""\
version: 1
{extra}
sources:
  people:
    type: sql
    url: "{url}"
    query: "{query}"
campaigns:
  welcome:
    campaign_id: 1
    source: people
    lead: {{email: "{{{{ row.email }}}}"}}
"""


def template_config(template: str) -> str:
    """One campaign over data/people.csv with ``template`` as Ada's token (Bob's is "ok").

    Only one row is invalid: a source whose every row is invalid stops the plan.
    """
    if "{% if row.name == 'Ada' %}" not in template:
        template = "{% if row.name == 'Ada' %}" + template + "{% else %}ok{% endif %}"
    return f"""\
version: 1
sources:
  people: {{type: csv, path: data/people.csv}}
campaigns:
  welcome:
    campaign_id: 1
    source: people
    lead: {{email: "{{{{ row.email }}}}"}}
    max_invalid: 5
    tokens:
      my.Bomb: {json.dumps(template)}
"""
