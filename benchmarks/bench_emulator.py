"""How many calls per second the emulator sustains with zero latency, and how long a
300-value lead lookup takes on an instance seeded with a million leads.

Run:  /work/venv/bin/python benchmarks/bench_emulator.py [--seconds 5] [--threads 8]
                                                          [--leads 1000000] [--lookups 20]

Clients are httpx keep-alive connections in threads of this same process, so the figure
is a lower bound (client and server share the CPU and the GIL).  Limits are lifted so
every call is a real trigger that is validated, applied and journaled.

The lookup part seeds ``--leads`` leads, then sends ``--lookups`` calls of 300 random
emails each (POST + ``_method=GET``, as long lookups go); the first call also builds the
email index (one pass over the leads), the rest read it only.  ``--leads 0`` skips it.
"""

from __future__ import annotations

import argparse
import random
import statistics
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
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=20)
    args = parser.parse_args()
    triggers(args)
    if args.leads > 0:
        lookups(args.leads, args.lookups)


def _token(base_url: str, client_id: str, secret: str) -> str:
    with httpx.Client(base_url=base_url) as http:
        params = {"grant_type": "client_credentials", "client_id": client_id}
        params["client_secret"] = secret
        token = http.get("/identity/oauth/token", params=params).json()["access_token"]
    assert isinstance(token, str)
    return token


def lookups(n_leads: int, n_calls: int) -> None:
    options = EmulatorOptions(calls=10**9, concurrency=10**6, daily_quota=10**9)
    started = time.monotonic()
    seed = {"leads": [{"id": i, "email": f"person{i}@example.com"} for i in range(1, n_leads + 1)]}
    with serve(seed=seed, options=options) as emu:
        seeded = time.monotonic() - started
        del seed
        headers = {
            "Authorization": f"Bearer {_token(emu.base_url, emu.client_id, emu.client_secret)}"
        }
        rng = random.Random(1)
        times: list[float] = []
        found = 0
        with httpx.Client(base_url=emu.base_url, headers=headers, timeout=120) as http:
            for _ in range(n_calls):
                wanted = [f"person{rng.randint(1, n_leads)}@example.com" for _ in range(300)]
                form = {"_method": "GET", "filterType": "email", "filterValues": ",".join(wanted)}
                t0 = time.monotonic()
                body = http.post("/rest/v1/leads.json", data=form).json()
                times.append(time.monotonic() - t0)
                assert body["success"] is True, body
                found += len(body["result"])
        index = emu.lead_index()
    rest = times[1:] or times
    print(
        f"lookup {n_leads:,} leads: seeded in {seeded:.1f} s; first 300-email call "
        f"{times[0] * 1000:.0f} ms (builds the index, {index['rows_scanned']:,} leads read), "
        f"then median {statistics.median(rest) * 1000:.1f} ms, max {max(rest) * 1000:.1f} ms "
        f"over {len(rest)} calls; {found} leads found"
    )


def triggers(args: argparse.Namespace) -> None:
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
