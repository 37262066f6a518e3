"""Run a job of the shipped ``.gitlab-ci.yml`` here, as a GitLab runner's shell would.

What runs for real: the job's ``rules:`` (``if:`` over ``$VARIABLES``, ``==``, ``!=``,
``&&``, ``||``), its variables (predefined, then the file's, then the job's, then the
project's CI/CD variables, which win), ``default: before_script`` and ``script`` in one
bash with ``set -eo pipefail`` in a clone of the project at the commit (``GIT_DEPTH``
honoured), and ``artifacts:`` (``paths``, ``reports``, ``when``) kept per job.

What stands in for gitlab.com: ``FakeGitLab``, a small HTTP server on loopback answering
the REST calls the pipeline's own Python makes (notes on a merge request, the merge
requests of a commit, a merge request's pipelines, a pipeline's jobs, a job's artifact),
from what earlier jobs of the test left.  ``image:`` is not pulled: the job runs on this
machine, whose Python stands in for ``python:3.11``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

PROJECT_ID = 42
TOKEN_USER = 1
JOB_TIMEOUT = 300


@dataclass
class Job:
    name: str
    id: int
    status: str  # success | failed | skipped
    log: str = ""
    artifacts: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "success"


@dataclass
class Pipeline:
    id: int
    sha: str
    source: str
    jobs: list[Job] = field(default_factory=list)


@dataclass
class FakeGitLab:
    """gitlab.com for one project: merge requests, their notes, pipelines and artifacts."""

    token: str = "glpat-fake-token-for-tests"
    merge_requests: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pipelines: list[Pipeline] = field(default_factory=list)
    url: str = ""

    def open_merge_request(self, iid: int, *, from_fork: bool = False) -> None:
        self.merge_requests[iid] = {
            "iid": iid,
            "state": "opened",
            "source_project_id": PROJECT_ID + 1 if from_fork else PROJECT_ID,
            "target_project_id": PROJECT_ID,
            "merge_commit_sha": None,
            "pipelines": [],
        }

    def merged(self, iid: int, sha: str) -> None:
        self.merge_requests[iid].update(state="merged", merge_commit_sha=sha)

    # -- the REST API --------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        parts = path.removeprefix("/api/v4/").strip("/").split("/")
        if parts == ["user"]:
            return {"id": TOKEN_USER, "username": f"project_{PROJECT_ID}_bot"}
        if parts[:2] != ["projects", str(PROJECT_ID)]:
            return None
        rest = parts[2:]
        if rest[:1] == ["merge_requests"] and len(rest) >= 3 and rest[2] == "notes":
            notes = self.notes.setdefault(int(rest[1]), [])
            if method == "GET":
                per, page = int(query["per_page"][0]), int(query.get("page", ["1"])[0])
                return notes[(page - 1) * per : page * per]
            if method == "POST":
                note = {"id": 9000 + sum(map(len, self.notes.values())) + 1,
                        "body": body["body"], "author": {"id": TOKEN_USER}}  # fmt: skip
                notes.append(note)
                return note
            note = next(n for n in notes if n["id"] == int(rest[3]))
            note["body"] = body["body"]
            return note
        if rest[:2] == ["repository", "commits"] and rest[3:] == ["merge_requests"]:
            return [
                {k: mr[k] for k in ("iid", "state", "source_project_id", "target_project_id")}
                for mr in self.merge_requests.values()
                if mr["merge_commit_sha"] == rest[2]
            ]
        if rest[:1] == ["merge_requests"] and rest[2:] == ["pipelines"]:
            ids = self.merge_requests[int(rest[1])]["pipelines"]
            return [{"id": pid} for pid in reversed(ids)]  # newest first
        if rest[:1] == ["pipelines"] and rest[2:] == ["jobs"]:
            pipeline = next(p for p in self.pipelines if p.id == int(rest[1]))
            scope = query.get("scope[]", [])
            return [
                {"id": j.id, "name": j.name, "status": j.status}
                for j in pipeline.jobs
                if not scope or j.status in scope
            ]
        if rest[:1] == ["jobs"] and rest[2:3] == ["artifacts"]:
            job = next(j for p in self.pipelines for j in p.jobs if j.id == int(rest[1]))
            file = (job.artifacts or Path("/nonexistent")) / "/".join(rest[3:])
            return file.read_bytes() if file.is_file() else None
        return None

    @contextmanager
    def serve(self) -> Iterator[FakeGitLab]:
        gitlab = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str) -> None:
                if self.headers.get("PRIVATE-TOKEN") != gitlab.token:
                    self.send_response(401)
                    self.end_headers()
                    return
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                found = gitlab.answer(method, url.path, parse_qs(url.query), body)
                if found is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = found if isinstance(found, bytes) else json.dumps(found).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

            def do_PUT(self) -> None:
                self._reply("PUT")

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/api/v4"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


# -- rules: ---------------------------------------------------------------------------

RULE_TOKEN = re.compile(r'\s*(\$\w+|"[^"]*"|\'[^\']*\'|==|!=|&&|\|\||\(|\)|null)')


def rule_matches(expr: str, variables: dict[str, str]) -> bool:
    """GitLab's ``rules: if:`` for the forms the pipeline uses."""
    tokens = []
    at = 0
    expr = expr.strip()
    while at < len(expr):
        m = RULE_TOKEN.match(expr, at)
        if not m:
            raise ValueError(f"rules: cannot read {expr[at:]!r}")
        tokens.append(m.group(1))
        at = m.end()
    pos = 0

    def value() -> Any:
        nonlocal pos
        token = tokens[pos]
        pos += 1
        if token == "(":
            found = either()
            pos += 1
            return found
        if token.startswith("$"):
            return variables.get(token[1:])  # unset: null
        if token == "null":
            return None
        return token[1:-1]

    def compare() -> Any:
        nonlocal pos
        left = value()
        if pos < len(tokens) and tokens[pos] in ("==", "!="):
            op = tokens[pos]
            pos += 1
            right = value()
            return (left == right) if op == "==" else (left != right)
        return bool(left)

    def both() -> Any:
        nonlocal pos
        found = compare()
        while pos < len(tokens) and tokens[pos] == "&&":
            pos += 1
            found = compare() and found
        return found

    def either() -> Any:
        nonlocal pos
        found = both()
        while pos < len(tokens) and tokens[pos] == "||":
            pos += 1
            found = both() or found
        return found

    return bool(either())


# -- a job ------------------------------------------------------------------------------


@dataclass
class Runner:
    """Runs jobs of ``pipeline_file`` for the project whose repository is ``origin``."""

    pipeline_file: Path
    origin: Path
    gitlab: FakeGitLab
    work: Path
    tmpdir: Path  # the machine's TMPDIR: the pipeline's venv is made there once
    env: dict[str, str]
    project_variables: dict[str, str] = field(default_factory=dict)
    next_job: int = 500

    def pipeline(
        self, *, source: str, sha: str, branch: str | None, mr: int | None = None
    ) -> Pipeline:
        pipeline = Pipeline(id=700 + len(self.gitlab.pipelines) + 1, sha=sha, source=source)
        self.gitlab.pipelines.append(pipeline)
        if mr is not None:
            self.gitlab.merge_requests[mr]["pipelines"].append(pipeline.id)
        self._context = {"branch": branch, "mr": mr}
        return pipeline

    def run(self, pipeline: Pipeline, name: str) -> Job:
        spec = yaml.safe_load(self.pipeline_file.read_text(encoding="utf-8"))
        job_spec = spec[name]
        self.next_job += 1
        job = Job(name=name, id=self.next_job, status="skipped")
        variables = self._variables(spec, job_spec, pipeline, job)
        rules = job_spec.get("rules")
        if rules is not None and not any(rule_matches(r["if"], variables) for r in rules):
            return job
        project = self.work / f"job-{job.id}"
        log = self._clone(project, pipeline.sha, variables.get("GIT_DEPTH", "20"))
        default = spec.get("default") or {}
        lines = [
            *job_spec.get("before_script", default.get("before_script", [])),
            *job_spec["script"],
        ]
        script = "set -eo pipefail\n" + "\n".join(lines) + "\n"
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", script],
            cwd=project,
            env={**self.env, **variables, "TMPDIR": str(self.tmpdir)},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=JOB_TIMEOUT,
            check=False,
        )
        job.log = log + proc.stdout + proc.stderr
        job.status = "success" if proc.returncode == 0 else "failed"
        self._keep_artifacts(job_spec.get("artifacts") or {}, project, job)
        pipeline.jobs.append(job)
        return job

    def _variables(
        self, spec: dict[str, Any], job_spec: dict[str, Any], pipeline: Pipeline, job: Job
    ) -> dict[str, str]:
        branch, mr = self._context["branch"], self._context["mr"]
        found = {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_API_V4_URL": self.gitlab.url,
            "CI_PROJECT_ID": str(PROJECT_ID),
            "CI_PROJECT_DIR": str(self.work / f"job-{job.id}"),
            "CI_PIPELINE_ID": str(pipeline.id),
            "CI_PIPELINE_SOURCE": pipeline.source,
            "CI_JOB_ID": str(job.id),
            "CI_JOB_NAME": job.name,
            "CI_COMMIT_SHA": pipeline.sha,
            "CI_DEFAULT_BRANCH": "main",
        }
        if branch is not None:
            found["CI_COMMIT_BRANCH"] = branch
        if mr is not None:
            found["CI_MERGE_REQUEST_IID"] = str(mr)
            found["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = "main"
        for scope in (spec.get("variables") or {}, job_spec.get("variables") or {}):
            found.update({k: str(v) for k, v in scope.items()})
        found.update(self.project_variables)
        return found

    def _clone(self, project: Path, sha: str, depth: str) -> str:
        project.mkdir(parents=True)
        argv = [["init", "--quiet"], ["remote", "add", "origin", f"file://{self.origin}"]]
        fetch = ["fetch", "--quiet"] + ([f"--depth={depth}"] if depth not in ("0", "") else [])
        argv += [[*fetch, "origin", sha], ["checkout", "--quiet", "--detach", sha]]
        log = []
        for args in argv:
            run = subprocess.run(
                ["git", "-C", str(project), *args], capture_output=True, text=True, check=False
            )
            log.append(run.stdout + run.stderr)
            assert run.returncode == 0, "".join(log)
        return "".join(log)

    def _keep_artifacts(self, artifacts: dict[str, Any], project: Path, job: Job) -> None:
        if not artifacts or (
            job.status != "success" and artifacts.get("when") not in ("always", "on_failure")
        ):
            return
        keep = self.work / "artifacts" / str(job.id)
        names = list(artifacts.get("paths") or [])
        names += [
            p
            for report in (artifacts.get("reports") or {}).values()
            for p in ([report] if isinstance(report, str) else report)
        ]
        for name in names:
            source = project / name
            if source.is_file():
                (keep / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, keep / name)
        job.artifacts = keep


def python_dir(where: Path) -> Path:
    """A folder holding ``python``: this interpreter, as ``python:3.11``'s image has it."""
    where.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        if not (where / name).exists():
            (where / name).symlink_to(sys.executable)
    return where


def machine_with_python(env: dict[str, str], where: Path) -> dict[str, str]:
    return {**env, "PATH": f"{python_dir(where)}{os.pathsep}{env['PATH']}"}
