"""How long ``apply`` takes to exit after SIGINT: the grace a CI job must give it.

    python benchmarks/bench_cancel.py [--cases normal,trigger,fields]

Each case runs ``python -m mktsync apply`` against an emulator in a child process and
sends SIGINT once a call is on the wire, then times the exit (no second signal):

- ``normal``: calls take 0.05-0.1 s and the rest wait in mktsync's limiter (12 calls a
  20 s window): the exit waits only for the calls on the wire;
- ``trigger``: the trigger calls on the wire never answer: the exit waits for their read
  timeout (``transport.DEFAULT_TIMEOUT``), and their items are left *unknown*;
- ``fields``: a lead field write (``leads.json``) on the wire never answers: the exit
  waits for ``transport.SYNC_TIMEOUT``.

In the last two, mktsync's window (4 calls a 3 s) holds the call back in the limiter
until the emulator has been told to hang, after the lead lookup: so the call that hangs
is the one meant, not one that happened to be admitted first.

Prints one line per case: exit code, seconds from SIGINT to exit, the ledger's statuses.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# The apply tests' helpers, and the testing/ package they build on.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "apply"))
from apply_helpers import emulator, rows, write_project

from mktsync.config import load_config
from mktsync.emulator import Emulator, EmulatorOptions
from mktsync.ledger import open_ledger

HUNG = 600.0  # s an emulated call takes when it "never" answers


def statuses(path: Path) -> Counter[str]:
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir, create=False) as ledger:
        return Counter(r.status for r in ledger.iter_records())


def measure(case: str, folder: Path) -> str:
    if case == "normal":
        path = write_project(folder, rows(30, shared_code=False), calls=12)
    else:
        path = write_project(folder, rows(5, shared_code=False), calls=4, window=3)
    if case == "fields":
        text = path.read_text(encoding="utf-8").replace(
            "    retrigger: on_change\n",
            '    retrigger: on_change\n    fields:\n      webinarJoinLink: "x{{ row.code }}"\n',
        )
        path.write_text(text, encoding="utf-8")
    with emulator(path, EmulatorOptions(latency=(0.05, 0.1))) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")}
        env.pop("CI", None)
        env.update(
            MARKETO_BASE_URL=emu.base_url,
            MARKETO_CLIENT_ID=emu.client_id,
            MARKETO_CLIENT_SECRET=emu.client_secret,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "mktsync", "apply", str(path), "--yes"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if case == "normal":
            wait_for(emu, "trigger", 4)
        else:
            wait_for(emu, "leads_get", 1)  # the next call waits in the limiter
        if case != "normal":
            emu.set_latency(HUNG)  # the next call hangs
        while not emu.stats()["in_flight"]:
            time.sleep(0.005)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait()
        took = time.monotonic() - start
        found = statuses(path)
        proc.wait()
    return f"{case}: exit {code}, {took:.2f} s after SIGINT; ledger {dict(found)}"


def wait_for(emu: Emulator, endpoint: str, count: int) -> None:
    while sum(e.get("endpoint") == endpoint for e in emu.journal()) < count:
        time.sleep(0.005)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", default="normal,trigger,fields")
    args = parser.parse_args()
    for case in args.cases.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            print(measure(case, Path(tmp)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
