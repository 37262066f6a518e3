"""Run a shipped GitHub workflow's job here, step by step, as the runner would.

What runs for real: every ``run:`` step, in bash with GitHub's flags (``bash -e`` without
``shell:``, ``bash --noprofile --norc -eo pipefail`` with ``shell: bash``), and the mktsync
action (``uses: ./`` or ``OWNER/mktsync@...``), whose composite steps run the same way
with its inputs mapped as GitHub maps them: the step's ``with:`` over the action's
defaults, ``${{ inputs.X }}`` evaluated, the step's ``env:`` given to every composite
step, outputs taken from the action's ``outputs:``.  ``$GITHUB_OUTPUT``, ``$GITHUB_ENV``,
``$GITHUB_PATH`` and ``$GITHUB_STEP_SUMMARY`` are files read after each step; ``if:``,
``env:`` and ``with:`` go through ``expressions``.

What stands in for what cannot run here (no github.com, no runner image):
``actions/checkout`` clones the test's origin repository at the commit; ``actions/setup-
python`` puts this Python first on PATH as ``python``; ``actions/upload-artifact`` and
``download-artifact`` copy to and from the fake github.com (``fake_github``);
``actions/github-script`` runs its script under node against the same (``github_script.js``);
``gh`` is ``fake_github.py``.  Any other ``uses:`` fails the job: a workflow that grows a
step this runner cannot run must grow its stand-in too.

Secrets are the repository's (``secrets=``) and those of the GitHub environment a job
names (``environment:``), as GitHub gives them: a job that names none sees only the
repository's, and a job whose branch the environment does not allow fails before its
first step (``Environment(branches=...)``, GitHub's deployment branch rule).  So a
workflow that loses its ``environment:`` line loses its Marketo credentials here too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from expressions import as_string, condition, interpolate, value_of
from fake_github import FakeGitHub

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SERVER = "https://github.com"
STEP_TIMEOUT = 300
# A step's exit code, its log, and its outputs.
Outcome = tuple[int, str, dict[str, str]]


@dataclass(frozen=True, kw_only=True)
class Environment:
    """A GitHub environment: its secrets, and the branches allowed to deploy to it
    (``None``: any branch)."""

    secrets: dict[str, str]
    branches: tuple[str, ...] | None = None


@dataclass
class StepResult:
    name: str
    id: str | None
    outcome: str  # success | failure | skipped
    conclusion: str = ""  # the outcome after continue-on-error
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class JobResult:
    workflow: str
    job: str
    run_id: int
    steps: list[StepResult]
    workspace: Path
    summary: str
    refused: str = ""  # why the job failed before its first step (an environment's rule)

    @property
    def skipped(self) -> bool:
        return not self.steps and not self.refused

    @property
    def ok(self) -> bool:
        return not self.refused and all(s.conclusion != "failure" for s in self.steps)

    def step(self, name: str) -> StepResult:
        """The step whose id is ``name``, or whose name starts with it."""
        for s in self.steps:
            if s.id == name or s.name.startswith(name):
                return s
        raise KeyError(f"{self.workflow}: no step {name!r}: {[s.name for s in self.steps]}")

    @property
    def log(self) -> str:
        if self.refused:
            return self.refused
        return "\n".join(f"--- {s.name} [{s.outcome}]\n{s.log}" for s in self.steps)


@dataclass(frozen=True, kw_only=True)
class Runner:
    """Runs jobs of GitHub workflows against ``github`` (the fake github.com).

    ``origin``: the git repository the workflow's repository is (checkout clones it);
    ``action``: the checkout of mktsync the action runs from (``$GITHUB_ACTION_PATH``);
    ``work``: where jobs get their workspace; ``temp``: ``$RUNNER_TEMP`` (emptied before
    each job but for the action's venv); ``env``: the machine's environment every step
    starts from (put the stand-ins' folder on its PATH)."""

    github: FakeGitHub
    origin: Path
    action: Path
    work: Path
    temp: Path
    env: dict[str, str]

    def run(
        self,
        workflow: Path,
        job_name: str,
        *,
        event_name: str,
        event: dict[str, Any],
        sha: str,
        ref: str,
        secrets: dict[str, str] | None = None,
        environments: dict[str, Environment] | None = None,
        variables: dict[str, str] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> JobResult:
        """One job of ``workflow``: ``secrets`` are the repository's, ``environments`` the
        GitHub environments that exist (a job naming another gets an empty one, as GitHub
        makes it)."""
        spec = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        job = spec["jobs"][job_name]
        branch, head = ref.removeprefix("refs/heads/"), sha
        if event_name == "pull_request":  # GitHub lists such a run by the pull request's head
            branch = event["pull_request"]["head"]["ref"]
            head = event["pull_request"]["head"]["sha"]
        run_id = self.github.start_run(
            workflow=workflow.name, name=spec.get("name", workflow.name), event=event_name,
            branch=branch, sha=head,
        )  # fmt: skip
        home = self.work / f"run-{run_id}"
        workspace, temp = home / "workspace", self.temp
        workspace.mkdir(parents=True)
        # A fresh $RUNNER_TEMP, but for the venv the action made: one path for every job,
        # so that its install step runs for real once and later jobs find it made (its own
        # check, as a second step of one job does), and the tests take seconds, not minutes.
        temp.mkdir(parents=True, exist_ok=True)
        for entry in temp.iterdir():
            if entry.name != "mktsync-venv":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        event_path = home / "event.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        github_ctx = {
            "event_name": event_name,
            "event": event,
            "sha": sha,
            "ref": ref,
            "ref_name": branch,
            "repository": self.github.repository,
            "repository_owner": self.github.repository.split("/")[0],
            "run_id": str(run_id),
            "run_attempt": "1",
            "server_url": SERVER,
            "actor": "octocat",
            "token": "ghs_fake_token_for_tests",
            "workspace": str(workspace),
            "action_path": "",
        }
        base = {
            **self.env,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_SHA": sha,
            "GITHUB_REF": ref,
            "GITHUB_REF_NAME": branch,
            "GITHUB_REPOSITORY": self.github.repository,
            "GITHUB_RUN_ID": str(run_id),
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_SERVER_URL": SERVER,
            "GITHUB_ACTOR": "octocat",
            "RUNNER_TEMP": str(temp),
            "RUNNER_OS": "Linux",
            "FAKE_GITHUB": str(self.github.root),
        }
        state = _JobState(
            runner=self,
            run_id=run_id,
            workspace=workspace,
            temp=temp,
            base=base,
            context={
                "github": github_ctx,
                "secrets": {"GITHUB_TOKEN": github_ctx["token"], **(secrets or {})},
                "vars": dict(variables or {}),
                "inputs": dict(inputs or {}),
                "runner": {"temp": str(temp), "os": "Linux"},
                "job": {"status": "success"},
                "steps": {},
                "env": {},
            },
        )
        runs = condition(job.get("if"), state.ctx({}))  # else the job is skipped whole
        refused = (
            state.enter_environment(job.get("environment"), environments or {}) if runs else ""
        )
        results: list[StepResult] = []
        if runs and not refused:
            env: dict[str, str] = {}
            for scope in (spec.get("env") or {}, job.get("env") or {}):
                for k, v in scope.items():
                    env[k] = as_string(value_of(v, {**state.context, "env": env}))
            state.job_env = env
            results = [state.step(n, step) for n, step in enumerate(job["steps"])]
        result = JobResult(
            workflow=workflow.name, job=job_name, run_id=run_id, steps=results,
            workspace=workspace, summary=state.summary, refused=refused,
        )  # fmt: skip
        self.github.finish_run(run_id, ok=result.ok)
        return result


@dataclass
class _JobState:
    runner: Runner
    run_id: int
    workspace: Path
    temp: Path
    base: dict[str, str]
    context: dict[str, Any]
    job_env: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # $GITHUB_ENV
    extra_path: list[str] = field(default_factory=list)  # $GITHUB_PATH, newest first
    summary: str = ""
    counter: int = 0

    def ctx(self, env: dict[str, str], **more: Any) -> dict[str, Any]:
        return {**self.context, "env": env, **more}

    def enter_environment(self, declared: Any, environments: dict[str, Environment]) -> str:
        """The job's ``environment:`` (a name, or ``{name, url}``): its secrets join the
        repository's; the refusal when its branch rule excludes this run, else ``""``."""
        if not declared:
            return ""
        name = declared.get("name") if isinstance(declared, dict) else declared
        name = interpolate(str(name), self.ctx({}))
        environment = environments.get(name, Environment(secrets={}))
        branch = self.context["github"]["ref_name"]
        if environment.branches is not None and branch not in environment.branches:
            return (
                f'Branch "{branch}" is not allowed to deploy to {name} due to '
                "environment protection rules."
            )
        self.context["secrets"] = {**self.context["secrets"], **environment.secrets}
        return ""

    def step(self, n: int, step: dict[str, Any]) -> StepResult:
        env = {**self.job_env, **self.extra_env}
        name = str(step.get("name") or step.get("uses") or f"step {n}")
        name = interpolate(name, self.ctx(env))
        sid = step.get("id")
        if not condition(step.get("if"), self.ctx(env)):
            result = StepResult(name=name, id=sid, outcome="skipped", conclusion="skipped")
            self._record(sid, result, "skipped")
            return result
        for k, v in (step.get("env") or {}).items():
            env[k] = as_string(value_of(v, self.ctx(env)))
        try:
            if "run" in step:
                code, log, outputs = self.shell(step, env, self.ctx(env))
            else:
                code, log, outputs = self.uses(step, env)
        except Exception as exc:  # a stand-in that cannot do what the step asks
            code, log, outputs = 1, f"runner: {type(exc).__name__}: {exc}", {}
        outcome = "success" if code == 0 else "failure"
        result = StepResult(name=name, id=sid, outcome=outcome, outputs=outputs, log=log)
        conclusion = outcome
        if outcome == "failure" and step.get("continue-on-error"):
            conclusion = "success"
        result.conclusion = conclusion
        if conclusion == "failure":
            self.context["job"]["status"] = "failure"
        self._record(sid, result, conclusion)
        return result

    def _record(self, sid: str | None, result: StepResult, conclusion: str) -> None:
        if sid:
            self.context["steps"][sid] = {
                "outputs": result.outputs,
                "outcome": result.outcome,
                "conclusion": conclusion,
            }

    # -- a shell step, of the workflow or of the composite action ----------------------

    def shell(
        self,
        step: dict[str, Any],
        env: dict[str, str],
        ctx: dict[str, Any],
        *,
        action_path: Path | None = None,
    ) -> Outcome:
        script = interpolate(str(step["run"]), ctx)
        self.counter += 1
        files = {
            name: self.temp / f"_{name.lower()}_{self.counter}"
            for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
        }
        for path in files.values():
            path.write_text("", encoding="utf-8")
        script_file = self.temp / f"_script_{self.counter}.sh"
        script_file.write_text(script, encoding="utf-8")
        shell = step.get("shell")
        if shell in (None, "bash"):
            argv = ["bash", "-e", str(script_file)]
            if shell == "bash":
                argv = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)]
        else:
            raise ValueError(f"shell {shell!r} is not one this runner knows")
        cwd = self.workspace
        if step.get("working-directory"):
            cwd = self.workspace / interpolate(str(step["working-directory"]), ctx)
        process_env = {
            **self.base,
            **env,
            **{k: str(v) for k, v in files.items()},
            "PATH": os.pathsep.join([*self.extra_path, self.base["PATH"]]),
        }
        if action_path is not None:
            process_env["GITHUB_ACTION_PATH"] = str(action_path)
        proc = subprocess.run(
            argv, cwd=cwd, env=process_env, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=STEP_TIMEOUT, check=False,
        )  # fmt: skip
        outputs = _key_values(files["GITHUB_OUTPUT"].read_text(encoding="utf-8"))
        self.extra_env.update(_key_values(files["GITHUB_ENV"].read_text(encoding="utf-8")))
        for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines():
            if line.strip():
                self.extra_path.insert(0, line.strip())
        self.summary += files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        return proc.returncode, proc.stdout + proc.stderr, outputs

    # -- uses: ---------------------------------------------------------------------------

    def uses(self, step: dict[str, Any], env: dict[str, str]) -> Outcome:
        uses = str(step["uses"])
        ctx = self.ctx(env)
        given = {k: as_string(value_of(v, ctx)) for k, v in (step.get("with") or {}).items()}
        action = uses.split("@")[0]
        if uses == "./" or action.endswith("/mktsync"):
            return self.composite(self.runner.action, given, env)
        standin = STANDINS.get(action)
        if standin is None:
            raise ValueError(f"no stand-in for {uses}")
        return standin(self, given, env)

    def composite(self, path: Path, given: dict[str, str], env: dict[str, str]) -> Outcome:
        spec = yaml.safe_load((path / "action.yml").read_text(encoding="utf-8"))
        assert spec["runs"]["using"] == "composite"
        github = {**self.context["github"], "action_path": str(path)}
        inputs: dict[str, str] = {}
        for name, decl in (spec.get("inputs") or {}).items():
            if name in given:
                inputs[name] = given[name]
            else:
                inputs[name] = as_string(
                    value_of(decl.get("default", ""), {**self.ctx(env), "github": github})
                )
        unknown = set(given) - set(inputs)
        if unknown:
            raise ValueError(f"the action has no input {sorted(unknown)}")
        steps: dict[str, Any] = {}
        log = []
        code = 0
        for n, step in enumerate(spec["runs"]["steps"]):
            ctx = {**self.ctx(env), "github": github, "inputs": inputs, "steps": steps}
            if not condition(step.get("if"), ctx):
                continue
            step_env = dict(env)
            for k, v in (step.get("env") or {}).items():
                step_env[k] = as_string(value_of(v, {**ctx, "env": step_env}))
            ctx["env"] = step_env
            if "run" in step:
                if "shell" not in step:
                    raise ValueError(f"composite step {n} has no shell: (GitHub requires one)")
                code, out, outputs = self.shell(step, step_env, ctx, action_path=path)
            else:
                uses = str(step["uses"]).split("@")[0]
                with_ = {
                    k: as_string(value_of(v, ctx)) for k, v in (step.get("with") or {}).items()
                }
                code, out, outputs = STANDINS[uses](self, with_, step_env)
            log.append(out)
            if step.get("id"):
                steps[step["id"]] = {
                    "outputs": outputs,
                    "outcome": "success" if code == 0 else "failure",
                }
            if code != 0:
                break
        ctx = {**self.ctx(env), "github": github, "inputs": inputs, "steps": steps}
        outputs = {
            name: as_string(value_of(decl.get("value", ""), ctx))
            for name, decl in (spec.get("outputs") or {}).items()
        }
        return code, "".join(log), outputs


def _key_values(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT``/``$GITHUB_ENV``: ``name=value`` lines and ``name<<DELIM`` blocks."""
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delim:
                    break
                body.append(inner)
            found[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            found[name] = value
    return found


# -- stand-ins for the actions/* steps --------------------------------------------------


def _checkout(job: _JobState, given: dict[str, str], env: dict[str, str]) -> Outcome:
    """The commit under test, fetched as actions/checkout fetches it: ``fetch-depth``
    generations (default 1), or everything with 0; ``origin`` names the repository."""
    sha = job.base["GITHUB_SHA"]
    depth = int(given.get("fetch-depth") or "1")
    log = []

    def git(*argv: str) -> int:
        run = subprocess.run(
            ["git", "-C", str(job.workspace), *argv], capture_output=True, text=True, check=False
        )
        log.append(run.stdout + run.stderr)
        return run.returncode

    steps = [
        ("init", "--quiet"),
        ("remote", "add", "origin", f"file://{job.runner.origin}"),
    ]
    if depth == 0:
        steps.append(
            (
                "fetch",
                "--quiet",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            )
        )
        steps.append(("fetch", "--quiet", "origin", sha))
    else:
        steps.append(("fetch", "--quiet", f"--depth={depth}", "origin", sha))
    steps.append(("checkout", "--quiet", "--detach", sha))
    for argv in steps:
        code = git(*argv)
        if code != 0:
            return code, "".join(log), {}
    return 0, "".join(log), {}


def _setup_python(job: _JobState, given: dict[str, str], env: dict[str, str]) -> Outcome:
    bin_dir = job.temp / "_python" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(sys.executable)
    job.extra_path.insert(0, str(bin_dir))
    return 0, f"python {sys.version.split()[0]} (asked for {given.get('python-version')})\n", {}


def _upload(job: _JobState, given: dict[str, str], env: dict[str, str]) -> Outcome:
    paths = [job.workspace / p.strip() for p in given["path"].splitlines() if p.strip()]
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += [f for f in sorted(path.rglob("*")) if f.is_file()]
        elif path.is_file():
            files.append(path)
    if not files:
        level = given.get("if-no-files-found", "warn")
        message = f"No files were found with the provided path: {given['path']}"
        if level == "error":
            return 1, f"::error::{message}\n", {}
        return 0, (f"::warning::{message}\n" if level == "warn" else ""), {}
    # The least common ancestor of what was given: a folder's files keep their places in it.
    base = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in paths]))
    job.runner.github.upload(job.run_id, given["name"], files, base)
    return 0, f"uploaded {len(files)} file(s) as {given['name']}\n", {}


def _download(job: _JobState, given: dict[str, str], env: dict[str, str]) -> Outcome:
    run_id = int(given.get("run-id") or job.run_id)
    into = job.workspace / given.get("path", ".")
    if not job.runner.github.download(run_id, given["name"], into):
        return 1, f"::error::Artifact not found for name: {given['name']}\n", {}
    return 0, f"downloaded {given['name']} from run {run_id}\n", {}


def _github_script(job: _JobState, given: dict[str, str], env: dict[str, str]) -> Outcome:
    job.counter += 1
    script = job.temp / f"_github_script_{job.counter}.js"
    script.write_text(given["script"], encoding="utf-8")
    proc = subprocess.run(
        ["node", str(HERE / "github_script.js"), str(script)],
        cwd=job.workspace, env={**job.base, **env}, capture_output=True, text=True,
        timeout=STEP_TIMEOUT, check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr, {}


STANDINS = {
    "actions/checkout": _checkout,
    "actions/setup-python": _setup_python,
    "actions/upload-artifact": _upload,
    "actions/download-artifact": _download,
    "actions/github-script": _github_script,
}
