"""A stand-in for github.com as the workflows reach it: runs, artifacts, pull requests, comments.

Kept in one JSON file (``state.json``) and a folder of artifacts, so that the stand-ins
the workflows call (``gh``, and ``actions/*`` steps) read and write the same state from
their own processes.  Only what the shipped workflows ask of GitHub is here:

- ``gh run list --workflow W [--branch B] [--commit SHA] [--status S] [--limit N]
  --json FIELDS --jq EXPR`` and ``gh run download ID --name N --dir D``;
- ``gh api PATH --jq EXPR`` for ``.../actions/artifacts?name=N``, ``.../commits/SHA/pulls``
  and ``.../pulls/N``;
- artifacts saved by ``actions/upload-artifact`` and read by ``actions/download-artifact``;
- issue comments, written by ``actions/github-script`` (``github_script.js``).

``--jq`` is evaluated by jq itself (the PyPI ``jq`` binding), as ``gh`` does: each result
on its own line, strings raw.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOT = "github-actions[bot]"


@dataclass(frozen=True, kw_only=True)
class FakeGitHub:
    """The state of one repository on the fake github.com, in ``root``."""

    root: Path
    repository: str = "acme/campaigns"

    @property
    def path(self) -> Path:
        return self.root / "state.json"

    def state(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"runs": [], "pulls": [], "comments": [], "artifacts": []}
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def save(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(state, indent=2), encoding="utf-8")

    # -- what the tests set up and read back ------------------------------------------

    def start_run(self, *, workflow: str, name: str, event: str, branch: str, sha: str) -> int:
        state = self.state()
        run_id = 1000 + len(state["runs"]) + 1
        state["runs"].append(
            {
                "databaseId": run_id,
                "workflow": workflow,
                "workflowName": name,
                "event": event,
                "headBranch": branch,
                "headSha": sha,
                "status": "in_progress",
                "conclusion": "",
            }
        )
        self.save(state)
        return run_id

    def finish_run(self, run_id: int, *, ok: bool) -> None:
        state = self.state()
        for run in state["runs"]:
            if run["databaseId"] == run_id:
                run["status"] = "completed"
                run["conclusion"] = "success" if ok else "failure"
        self.save(state)

    def add_pull(self, *, number: int, head_sha: str, head_repo: str, merge_sha: str) -> None:
        state = self.state()
        state["pulls"].append(
            {
                "number": number,
                "head": {"sha": head_sha, "repo": {"full_name": head_repo}},
                "merge_commit_sha": merge_sha,
            }
        )
        self.save(state)

    def merged(self, number: int, merge_sha: str) -> None:
        """The pull request was merged: its merge commit is now ``merge_sha`` on main."""
        state = self.state()
        for pull in state["pulls"]:
            if pull["number"] == number:
                pull["merge_commit_sha"] = merge_sha
        self.save(state)

    def comments(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.state()["comments"] if c["issue_number"] == number]

    def artifact(self, run_id: int, name: str) -> Path:
        return self.root / "artifacts" / str(run_id) / name

    def artifact_names(self, run_id: int) -> set[str]:
        return {a["name"] for a in self.state()["artifacts"] if a["run_id"] == run_id}

    def expire_artifacts(self, name: str) -> None:
        """GitHub deletes an expired artifact's files and keeps it listed, marked expired."""
        state = self.state()
        for entry in state["artifacts"]:
            if entry["name"] == name:
                entry["expired"] = True
                shutil.rmtree(self.artifact(entry["run_id"], name), ignore_errors=True)
        self.save(state)

    # -- what actions/upload-artifact and download-artifact do --------------------------

    def upload(self, run_id: int, name: str, files: list[Path], base: Path) -> None:
        target = self.artifact(run_id, name)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for file in files:
            dest = target / file.relative_to(base)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, dest)
        state = self.state()
        state["artifacts"].append({"run_id": run_id, "name": name, "expired": False})
        self.save(state)

    def download(self, run_id: int, name: str, into: Path) -> bool:
        source = self.artifact(run_id, name)
        if not source.is_dir():
            return False
        shutil.copytree(source, into, dirs_exist_ok=True)
        return True


# -- the `gh` command ------------------------------------------------------------------


def gh(argv: list[str], github: FakeGitHub) -> int:
    """``gh`` as the workflows call it; unknown uses fail loudly."""
    words, flags = _split(argv)
    if words[:2] == ["run", "list"]:
        return _output(_run_list(github, flags), flags)
    if words[:2] == ["run", "download"] and len(words) == 3:
        run_id = int(words[2])
        into = Path(flags.get("dir", "."))
        if not github.download(run_id, flags["name"], into):
            print(f"no artifact matches any of the names or patterns provided: {flags['name']}",
                  file=sys.stderr)  # fmt: skip
            return 1
        return 0
    if words[:1] == ["api"] and len(words) == 2:
        found = _api(github, words[1])
        if found is None:
            print(f"gh: Not Found (HTTP 404): {words[1]}", file=sys.stderr)
            return 1
        return _output(found, flags)
    print(f"gh stand-in: not implemented: gh {' '.join(argv)}", file=sys.stderr)
    return 2


def _split(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    words: list[str] = []
    flags: dict[str, str] = {}
    it = iter(argv)
    for arg in it:
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            flags[name] = value if eq else next(it)
        else:
            words.append(arg)
    return words, flags


def _run_list(github: FakeGitHub, flags: dict[str, str]) -> list[dict[str, Any]]:
    runs = list(reversed(github.state()["runs"]))  # newest first, as gh lists them
    if "workflow" in flags:
        runs = [r for r in runs if flags["workflow"] in (r["workflow"], r["workflowName"])]
    if "branch" in flags:
        runs = [r for r in runs if r["headBranch"] == flags["branch"]]
    if "commit" in flags:
        runs = [r for r in runs if r["headSha"] == flags["commit"]]
    if "status" in flags:
        runs = [r for r in runs if flags["status"] in (r["status"], r["conclusion"])]
    runs = runs[: int(flags.get("limit", 20))]
    fields = flags.get("json", "").split(",")
    return [{k: v for k, v in r.items() if k in fields} for r in runs]


def _api(github: FakeGitHub, path: str) -> Any:
    url = urlsplit(path)
    parts = url.path.strip("/").split("/")
    state = github.state()
    owner_repo = "/".join(parts[1:3])
    if parts[0] != "repos" or owner_repo != github.repository:
        return None
    rest = parts[3:]
    if rest == ["actions", "artifacts"]:
        name = parse_qs(url.query).get("name", [None])[0]
        listed = [a for a in state["artifacts"] if name is None or a["name"] == name]
        return {"total_count": len(listed), "artifacts": listed}
    if len(rest) == 3 and rest[0] == "commits" and rest[2] == "pulls":
        return [p for p in state["pulls"] if p["merge_commit_sha"] == rest[1]]
    if len(rest) == 2 and rest[0] == "pulls":
        return next((p for p in state["pulls"] if str(p["number"]) == rest[1]), None)
    return None


def _output(value: Any, flags: dict[str, str]) -> int:
    if "jq" not in flags:
        print(json.dumps(value))
        return 0
    import jq

    for result in jq.compile(flags["jq"]).input_value(value).all():
        print(result if isinstance(result, str) else json.dumps(result))
    return 0


if __name__ == "__main__":
    import os

    github = FakeGitHub(
        root=Path(os.environ["FAKE_GITHUB"]), repository=os.environ["GITHUB_REPOSITORY"]
    )
    raise SystemExit(gh(sys.argv[1:], github))
