"""How many contact upserts per second the Keap sandbox serves (so it is never a benchmark's bottleneck).

    .venv/bin/python bench/sandbox_upserts.py [--url http://127.0.0.1:8765] [--count 2000] [--threads 1 8]

Without --url it starts its own sandbox process. Loopback only. It lifts the sandbox's throttling
limits for the run (and resets the sandbox afterwards), connects Alice's sa101 through the real OAuth
dance, then POSTs `/crm/rest/v2/contacts?duplicate_option=Email` `--count` times per thread setting,
half of them new emails (201) and half repeats (200).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.sandbox import SandboxControl, SandboxServer, bearer_session, connect  # noqa: E402

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def body(i: int, run: int) -> dict:
    n = i // 2  # every email is sent twice: a create, then an update
    return {
        "given_name": f"Bench{n}",
        "family_name": "Mark",
        "email_addresses": [{"email": f"bench-{run}-{n}@example.com", "field": "EMAIL1"}],
        "phone_numbers": [{"number": f"555-01{n % 100:02d}", "field": "PHONE1"}],
        "addresses": [
            {
                "field": "BILLING",
                "line1": f"{n} Main St",
                "locality": "Phoenix",
                "region_code": "US-AZ",
                "country_code": "USA",
                "postal_code": "85001",
            }
        ],
    }


def measure(url: str, access_token: str, count: int, threads: int, run: int) -> dict:
    endpoint = f"{url}/crm/rest/v2/contacts"
    sessions = [bearer_session(access_token) for _ in range(threads)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def work(worker: int) -> None:
        http = sessions[worker]
        for i in range(worker, count, threads):
            started = time.perf_counter()
            response = http.post(
                endpoint, params={"duplicate_option": "Email"}, json=body(i, run), timeout=30
            )
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "threads": threads,
        "count": count,
        "seconds": round(elapsed, 3),
        "upserts_per_second": round(count / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "statuses": statuses,
    }


def run(url: str, count: int, thread_settings: list[int]) -> list[dict]:
    if urlsplit(url).hostname not in LOOPBACK:
        raise SystemExit(f"refusing to benchmark {url}: loopback only")
    control = SandboxControl(url)
    control.reset()
    control.limits(
        per_minute=10**9, per_second=10**9, per_day=10**9, tenant_per_minute=10**9, tenant_per_day=10**9
    )
    token = connect(url)["access_token"]
    try:
        return [measure(url, token, count, threads, run) for run, threads in enumerate(thread_settings)]
    finally:
        control.reset()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running sandbox (default: start one)")
    parser.add_argument("--count", type=int, default=2000, help="upserts per thread setting (default 2000)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8], help="client threads (default 1 8)")
    args = parser.parse_args()
    if args.count < 2 or args.count > 100_000:
        raise SystemExit("--count must be between 2 and 100000")
    if args.url:
        results = run(args.url.rstrip("/"), args.count, args.threads)
    else:
        with SandboxServer() as server:
            results = run(server.url, args.count, args.threads)
    for r in results:
        print(
            f"{r['threads']:>2} client thread(s): {r['count']} upserts in {r['seconds']} s = "
            f"{r['upserts_per_second']} upserts/s (p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms) "
            f"{r['statuses']}"
        )


if __name__ == "__main__":
    main()
