"""How many calls per second the emulator sustains with zero latency.

Run:  /work/venv/bin/python benchmarks/bench_emulator.py [--seconds 5] [--threads 8]

Clients are httpx keep-alive connections in threads of this same process, so the figure
is a lower bound (client and server share the CPU and the GIL).  Limits are lifted so
every call is a real trigger that is validated, applied and journaled.
"""

from __future__ import annotations

import argparse
import threading
import time

import httpx

from mktsync.emulator import EmulatorOptions, serve

SEED = {
    "programs": [{"id": 1001, "name": "Bench", "tokens": [{"name": "Title", "type": "text"}]}],
    "campaigns": [{"id": 1234, "name": "Bench trigger", "type": "trigger", "program_id": 1001}],
    "leads": [{"id": i, "email": f"lead{i}@example.com"} for i in range(1, 101)],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    options = EmulatorOptions(calls=10**9, concurrency=10**6, daily_quota=10**9)
    body = {
        "input": {
            "leads": [{"id": i} for i in range(1, 11)],
            "tokens": [{"name": "{{my.Title}}", "value": "Hello"}],
        }
    }
    with serve(seed=SEED, options=options) as emu:
        with httpx.Client(base_url=emu.base_url) as http:
            token = http.get(
                "/identity/oauth/token",
                params={
                    "grant_type": "client_credentials",
                    "client_id": emu.client_id,
                    "client_secret": emu.client_secret,
                },
            ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        counts = [0] * args.threads
        failures = [0] * args.threads
        deadline = time.monotonic() + args.seconds

        def worker(n: int) -> None:
            with httpx.Client(base_url=emu.base_url, headers=headers) as client:
                while time.monotonic() < deadline:
                    response = client.post("/rest/v1/campaigns/1234/trigger.json", json=body)
                    if response.json().get("success") is not True:
                        failures[n] += 1
                    counts[n] += 1

        start = time.monotonic()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
        total = sum(counts)
        applied = len(emu.triggers())
    print(
        f"{total / elapsed:.0f} calls/s  ({total} trigger calls in {elapsed:.1f} s, "
        f"{args.threads} client threads, {sum(failures)} failed, {applied} applied)"
    )


if __name__ == "__main__":
    main()
