"""An untrusted run's ledger: inside the repository, opened read-only, or empty — never a
file outside, never a host.

Every run is a real ``python -m mktsync`` process.  A ledger outside the repository is a
trap: a FIFO that a thread holds open for writing, so any process that opens it (to read,
or SQLite's read-write open) releases the thread and is caught; or a real ledger whose
record would turn the plan's ``+ trigger`` into ``= unchanged``; or nothing at all, which
must still be nothing afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import Listener, base_env, listening, mktsync, record_sent

CONFIG = """\
version: 1
marketo:
  base_url: ${{MARKETO_BASE_URL}}
  client_id: ${{MARKETO_CLIENT_ID}}
  client_secret: ${{MARKETO_CLIENT_SECRET}}
{top}
environments:
  production:
    ledger: {production}
sources:
  people: {{type: csv, path: data/people.csv}}
campaigns:
  welcome:
    campaign_id: 1
    source: people
    lead: {{email: "{{{{ row.email }}}}"}}
"""
NOTE = (
    "the ledger variable MKTSYNC_LEDGER_URL is not set: planned against an empty ledger; "
    "every item shows as new"
)


def write_config(repo: Path, ledger: str | None, production: str = '"${MKTSYNC_PROD_URL}"') -> Path:
    top = f"ledger: {ledger}" if ledger is not None else ""
    path = repo / "campaigns.yaml"
    path.write_text(CONFIG.format(top=top, production=production), encoding="utf-8")
    return path


class FifoTrap:
    """A FIFO whose write end a thread waits to open: any reader that opens it lets it through."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        fd = os.open(self.path, os.O_WRONLY)  # blocks until someone opens the read end
        self.opened.set()
        os.close(fd)

    def close(self) -> bool:
        """Whether anyone opened it; releases the waiting thread either way."""
        was_opened = self.opened.is_set()
        with contextlib.suppress(OSError):
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self._thread.join(timeout=5)
            os.close(fd)
        return was_opened


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "people.csv").write_text("email\nada@example.com\n", encoding="utf-8")
    (tmp_path / "home").mkdir()
    (tmp_path / "outside").mkdir()
    return repo


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    with listening() as trap:
        yield trap


def env_for(repo: Path, listener: Listener, **extra: str) -> dict[str, str]:
    """libpq's variables point at the listener: a connection by any road is counted."""
    traps = {"PGHOST": "127.0.0.1", "PGPORT": str(listener.port), "PGPASSWORD": "trap"}
    return base_env(repo.parent / "home", **traps, **extra)


# name -> (the ledger: top-level value, production's, the variables, what validate says
# (None: validate passes and plan refuses the value), the arguments)
OUTSIDE: dict[str, tuple[str | None, str, dict[str, str], str | None]] = {
    "dot-dot": ('"sqlite:///../outside/ledger.db"', '"${MKTSYNC_PROD_URL}"', {}, "with '..'"),
    "data/../..": (
        '"sqlite:///data/../../outside/ledger.db"',
        '"${MKTSYNC_PROD_URL}"',
        {},
        "with '..'",
    ),
    "absolute": (
        '"sqlite:///{outside}/ledger.db"',
        '"${MKTSYNC_PROD_URL}"',
        {},
        "is an absolute path",
    ),
    "default dot-dot, variable unset": (
        '"${MKTSYNC_LEDGER_URL:-sqlite:///../outside/ledger.db}"',
        '"${MKTSYNC_PROD_URL}"',
        {},
        "the default of ${MKTSYNC_LEDGER_URL}: '../outside/ledger.db' leads outside",
    ),
    "default dot-dot, variable empty": (
        '"${MKTSYNC_LEDGER_URL:-sqlite:///../outside/ledger.db}"',
        '"${MKTSYNC_PROD_URL}"',
        {"MKTSYNC_LEDGER_URL": ""},
        "the default of ${MKTSYNC_LEDGER_URL}: '../outside/ledger.db' leads outside",
    ),
    "default folder in the path": (
        '"sqlite:///${MKTSYNC_DIR:-../outside}/ledger.db"',
        '"${MKTSYNC_PROD_URL}"',
        {},
        "'../outside/ledger.db' leads outside",
    ),
    "symlinked .mktsync": (
        '"sqlite:///.mktsync/ledger.db"',
        '"${MKTSYNC_PROD_URL}"',
        {},
        "'.mktsync/ledger.db' leads outside the config file's folder through a symbolic link",
    ),
    "production dot-dot": (None, '"sqlite:///../outside/ledger.db"', {}, "with '..'"),
    "production symlinked .mktsync": (
        None,
        '"sqlite:///.mktsync/ledger.db"',
        {},
        "through a symbolic link",
    ),
    "variable's value dot-dot": (
        '"${MKTSYNC_LEDGER_URL}"',
        '"${MKTSYNC_PROD_URL}"',
        {"MKTSYNC_LEDGER_URL": "sqlite:///../outside/ledger.db"},
        None,
    ),
    "variable's value absolute": (
        '"${MKTSYNC_LEDGER_URL}"',
        '"${MKTSYNC_PROD_URL}"',
        {"MKTSYNC_LEDGER_URL": "sqlite:///{outside}/ledger.db"},
        None,
    ),
    "production variable's value through the link": (
        '"${MKTSYNC_LEDGER_URL}"',
        '"${MKTSYNC_PROD_URL}"',
        {"MKTSYNC_PROD_URL": "sqlite:///.mktsync/ledger.db"},
        None,
    ),
}


def _setup_outside(repo: Path, name: str) -> tuple[Path, dict[str, str], str | None]:
    top, production, variables, refusal = OUTSIDE[name]
    outside = repo.parent / "outside"
    if "symlink" in name or "link" in name:
        (repo / ".mktsync").symlink_to(outside, target_is_directory=True)

    def fill(text: str) -> str:
        return text.replace("{outside}", str(outside))

    write_config(repo, fill(top) if top else None, fill(production))
    return outside, {k: fill(v) for k, v in variables.items()}, refusal


def _commands(name: str) -> list[list[str]]:
    if not name.startswith("production"):
        return [["plan", "--untrusted"]]
    with_env = ["plan", "--untrusted", "--env", "production"]
    # Without --env the file is still refused, unless only the value of production's
    # variable is wrong (then the top-level ledger is planned, and that is fine).
    return [with_env] if OUTSIDE[name][3] is None else [with_env, ["plan", "--untrusted"]]


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_no_ledger_outside_the_repository_is_opened(
    repo: Path, listener: Listener, name: str
) -> None:
    outside, variables, refusal = _setup_outside(repo, name)
    trap = FifoTrap(outside / "ledger.db")
    env = env_for(repo, listener, **variables)
    try:
        validate = mktsync("validate", "--untrusted", cwd=repo, env=env, timeout=30)
        plans = [mktsync(*argv, cwd=repo, env=env, timeout=30) for argv in _commands(name)]
    finally:
        opened = trap.close()
    assert not opened, f"{name}: a process opened the ledger outside the repository"
    assert sorted(p.name for p in outside.iterdir()) == ["ledger.db"], "nothing created beside it"
    if refusal is None:
        assert validate.returncode == 0, validate.stdout + validate.stderr
    else:
        assert validate.returncode == 1
        assert refusal in validate.stdout, validate.stdout
        assert validate.stdout.startswith("campaigns.yaml:"), validate.stdout
    for plan in plans:
        assert plan.returncode == 1, plan.stdout + plan.stderr
        assert "Traceback" not in plan.stderr and "internal error" not in plan.stderr
        if refusal is None:  # refused when resolved, naming the variable, not its value
            assert "is a sqlite:/// file outside the repository" in plan.stderr, plan.stderr
            assert "outside/ledger.db" not in plan.stderr
    assert listener.settle() == 0


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_no_ledger_outside_the_repository_is_created(
    repo: Path, listener: Listener, name: str
) -> None:
    outside, variables, _ = _setup_outside(repo, name)
    env = env_for(repo, listener, **variables)
    for argv in _commands(name):
        assert mktsync(*argv, cwd=repo, env=env).returncode == 1
    assert list(outside.iterdir()) == []


def test_a_sentinel_ledger_outside_is_not_read(repo: Path, listener: Listener) -> None:
    """The control: a trusted run does read it (so the sentinel would show)."""
    outside = repo.parent / "outside"
    config = write_config(repo, '"${MKTSYNC_LEDGER_URL}"')
    record_sent(config, f"sqlite:///{outside}/ledger.db")
    env = env_for(repo, listener, MKTSYNC_LEDGER_URL=f"sqlite:///{outside}/ledger.db")
    before = (outside / "ledger.db").read_bytes()
    untrusted = mktsync("plan", "--untrusted", cwd=repo, env=env)
    assert untrusted.returncode == 1
    assert "unchanged" not in untrusted.stdout
    trusted = mktsync("plan", cwd=repo, env=env)
    assert trusted.returncode == 0, trusted.stderr
    assert "nothing to do (1 unchanged)" in trusted.stdout
    assert (outside / "ledger.db").read_bytes() == before


@pytest.mark.parametrize(
    "ledger", [None, '"sqlite:///.mktsync/ledger.db"', "sqlite:///.mktsync/ledger.db"]
)
def test_the_documented_default_passes_and_plan_creates_no_file(
    repo: Path, listener: Listener, ledger: str | None
) -> None:
    write_config(repo, ledger)
    env = env_for(repo, listener)
    validate = mktsync("validate", "--untrusted", cwd=repo, env=env)
    assert validate.returncode == 0, validate.stdout
    plan = mktsync("plan", "--untrusted", cwd=repo, env=env)
    assert plan.returncode == 0, plan.stderr
    assert "+ trigger           1" in plan.stdout
    assert sorted(p.name for p in repo.iterdir()) == ["campaigns.yaml", "data"]
    assert listener.settle() == 0


@pytest.mark.parametrize("written", ["sqlite:///.mktsync/ledger.db", '"${MKTSYNC_LEDGER_URL}"'])
def test_a_ledger_in_the_repository_is_read_and_never_written(
    repo: Path, listener: Listener, written: str
) -> None:
    config = write_config(repo, written)
    ledger = repo / ".mktsync" / "ledger.db"
    record_sent(config, f"sqlite:///{ledger}")
    files = sorted(p.name for p in ledger.parent.iterdir())
    digest, mtime = hashlib.sha256(ledger.read_bytes()).hexdigest(), ledger.stat().st_mtime_ns
    # The variable's value as a workflow would write it: absolute, inside the checkout.
    env = env_for(repo, listener, MKTSYNC_LEDGER_URL=f"sqlite:///{ledger}")
    plan = mktsync("plan", "--untrusted", cwd=repo, env=env)
    assert plan.returncode == 0, plan.stderr
    assert "nothing to do (1 unchanged)" in plan.stdout
    assert hashlib.sha256(ledger.read_bytes()).hexdigest() == digest
    assert ledger.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in ledger.parent.iterdir()) == files


@pytest.mark.parametrize("value", [None, ""])
@pytest.mark.parametrize("where", ["top", "production"])
def test_an_unset_ledger_variable_plans_against_an_empty_ledger(
    repo: Path, listener: Listener, value: str | None, where: str
) -> None:
    variables = {} if value is None else {"MKTSYNC_LEDGER_URL": value}
    if where == "top":
        write_config(repo, '"${MKTSYNC_LEDGER_URL}"')
        argv = ["plan", "--untrusted"]
        field = "ledger"
    else:
        write_config(repo, None, production='"${MKTSYNC_LEDGER_URL}"')
        argv = ["plan", "--untrusted", "--env", "production"]
        field = "environments.production.ledger"
    env = env_for(repo, listener, **variables)
    assert mktsync("validate", "--untrusted", cwd=repo, env=env).returncode == 0
    plan = mktsync(*argv, cwd=repo, env=env)
    assert plan.returncode == 0, plan.stderr
    assert "+ trigger           1" in plan.stdout
    note = next(line for line in plan.stderr.splitlines() if NOTE in line)
    assert note.startswith("campaigns.yaml:") and f" {field}: warning: " in note
    assert sorted(p.name for p in repo.iterdir()) == ["campaigns.yaml", "data"]
    assert listener.settle() == 0
    # A trusted run (apply's plan step) never plans against nothing: it is an error there.
    trusted = mktsync(*[a for a in argv if a != "--untrusted"], cwd=repo, env=env)
    assert trusted.returncode == 1
    assert "environment variable MKTSYNC_LEDGER_URL is not set" in trusted.stderr


def test_a_sqlite_default_in_the_repository_is_used_when_the_variable_is_empty(
    repo: Path, listener: Listener
) -> None:
    """The documented config (docs/ci.md) with the SQLite-artifact workflow: a fork's run
    has no MKTSYNC_LEDGER_URL, and the downloaded .mktsync/ledger.db is the ledger."""
    config = write_config(repo, '"${MKTSYNC_LEDGER_URL:-sqlite:///.mktsync/ledger.db}"')
    record_sent(config, "sqlite:///.mktsync/ledger.db")
    plan = mktsync(
        "plan", "--untrusted", cwd=repo, env=env_for(repo, listener, MKTSYNC_LEDGER_URL="")
    )
    assert plan.returncode == 0, plan.stderr
    assert "nothing to do (1 unchanged)" in plan.stdout
    assert NOTE not in plan.stderr
