"""Seeds from YAML/JSON files and the ``mktsync emulator`` command line."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from emulator_testing import SEED, error_code

from mktsync.emulator import cli, load_seed
from mktsync.emulator.seed import build_world

SEED_YAML = """\
clients: [{client_id: abc, client_secret: s3cret}]
programs:
  - {id: 1001, name: Webinars, tokens: [{name: WebinarTitle, type: text, value: ""}], nested: false}
campaigns:
  - {id: 1234, name: Webinar reminder, type: trigger, active: true, requestable: true, program_id: 1001}
leads:
  - {id: 318592, email: ada@example.com, firstName: Ada}
faults: {rates: {"606": 0.05}, script: [{endpoint: trigger, nth: 7, fault: lost}], seed: 1}
"""
LINE = re.compile(
    r"^Marketo emulator at (http://127\.0\.0\.1:\d+) client_id=(\S+) client_secret=(\S+)$"
)


def test_load_seed_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "seed.yaml").write_text(SEED_YAML)
    (tmp_path / "seed.json").write_text(json.dumps(SEED))
    loaded = load_seed(tmp_path / "seed.yaml")
    assert loaded["campaigns"][0]["id"] == 1234
    assert loaded["faults"]["script"][0]["nth"] == 7
    assert load_seed(tmp_path / "seed.json") == SEED
    world = build_world(loaded)
    assert world.campaigns[1234].triggerable and 318592 in world.leads


@pytest.mark.parametrize(
    "seed",
    [
        {"campaign": []},
        {"programs": {"id": 1}},
        {"campaigns": [{"id": 1, "name": "x", "program_id": 9}]},
        {"programs": [{"id": 1, "name": "p", "tokens": [{"name": "x", "type": "colour"}]}]},
        {"programs": [{"id": 1}]},
        {"leads": [{"id": "not-a-number"}]},
    ],
    ids=["unknown-key", "not-a-list", "no-program", "bad-token-type", "missing-name", "bad-id"],
)
def test_bad_seeds_are_refused(seed: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        build_world(seed)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_prints_one_line_and_serves_the_seed(tmp_path: Path) -> None:
    (tmp_path / "seed.yaml").write_text(SEED_YAML)
    args = parse("--seed", str(tmp_path / "seed.yaml"), "--latency", "0-0.01", "--calls", "50",
                 "--faults", "campaign#1=608", "--random-seed", "3")  # fmt: skip
    assert args.latency == (0.0, 0.01) and args.calls == 50
    out, stop, codes = io.StringIO(), threading.Event(), []
    thread = threading.Thread(target=lambda: codes.append(cli.run(args, out=out, stop=stop)))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        match = LINE.match(out.getvalue().strip())
        assert match is not None, out.getvalue()
        base, client_id, secret = match.groups()
        assert (client_id, secret) == ("abc", "s3cret")
        with httpx.Client(base_url=base) as http:
            token = http.get("/identity/oauth/token", params={
                "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            }).json()["access_token"]  # fmt: skip
            auth = {"Authorization": f"Bearer {token}"}
            assert error_code(http.get("/rest/v1/campaigns/1234.json", headers=auth)) == "608"
            assert error_code(http.get("/rest/v1/campaigns/1234.json", headers=auth)) is None
    finally:
        stop.set()
        thread.join()
    assert codes == [0]
    assert out.getvalue().count("\n") == 1


@pytest.mark.parametrize(
    "argv", [["--latency", "fast"], ["--faults", "606=x"], ["--faults", "trigger#0=lost"]]
)
def test_cli_rejects_bad_options(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse(*argv)


def test_cli_bad_seed_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "seed.yaml").write_text("campaigns: [{id: 1, name: x, program_id: 9}]\n")
    assert cli.run(parse("--seed", str(tmp_path / "seed.yaml"))) == 1
    assert "program_id 9" in capsys.readouterr().err


def test_ctrl_c_exits_130_without_traceback() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mktsync.emulator.cli", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert LINE.match(line.strip()), line
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert "Traceback" not in err
