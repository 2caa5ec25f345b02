"""keapconnect's first benchmark: ratios measured in one run, against the Keap sandbox over real HTTP.

    make bench            (or: .venv/bin/python bench/run.py [--calls 200] [--renders 300] [--bulk 1000])

It starts its own Keap sandbox and keapconnect (gunicorn, one worker, DEBUG off) processes on free loopback
ports, with a throwaway SQLite database, and prints:

(a) one `contact_upsert` through the service (its ContactUpsert record included) divided by the same
    HTTP calls made bare with one `requests.Session` (target <= 1.3). The service makes two calls per
    upsert: the lookup by email that keeps the contact's other emails, phones and addresses (Keap's
    list fields replace what it stores), and the upsert itself; the bare side makes the same two.
    The ratio against the upsert POST alone is printed too, for what the lookup costs.
(b) requests per second of the contact form page with a warm lookup cache divided by those of a
    trivial Django view in the same server (target >= 0.5), and Keap calls per render (0). Two trivial
    views are measured: one behind the same staff-only rules as the form (the session and the user
    are read, as for every page; bench/urls.py adds it), which is the like-for-like baseline, and
    /healthz, which reads neither.
(c) upserts per second for --bulk contacts sent by the service in one process.

Not a test: nothing here asserts; it measures and prints.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.support.sandbox import SandboxControl, SandboxServer, bearer_session, connect  # noqa: E402

ROUNDS = 10  # (b): rounds of alternating pages
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_django(db_path: str, sandbox_url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "keapconnect.settings",
            "DATABASE_URL": f"sqlite:///{db_path}",
            "KEAP_SANDBOX": "1",
            "KEAP_SANDBOX_URL": sandbox_url,
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def connect_account(sandbox_url: str):
    """Connect alice's sa101 through the real OAuth dance, stored through our service."""
    from django.contrib.auth import get_user_model

    from connectors.models import KeapApp
    from connectors.services.accounts import connected_account_connect
    from tests.support import sandbox as sb

    user = get_user_model().objects.create_user("bench", password="bench-password-1", is_staff=True)
    keap_app = KeapApp.objects.create(name="Bench", client_id=sb.CLIENT_ID, client_secret=sb.CLIENT_SECRET)
    token = connect(sandbox_url, sb.ALICE, "sa101")
    result = connected_account_connect(keap_app=keap_app, token=token, performed_by=user)
    return user, result.account, token["access_token"]


def contact(i: int, run: str):
    from connectors.services.contacts import ContactInput

    return ContactInput(
        email=f"bench-{run}-{i}@example.com",
        given_name=f"Bench{i}",
        family_name="Mark",
        phone_number=f"555-01{i % 100:02d}",
        line1=f"{i} Main St",
        city="Vancouver",
        postal_code="V6B 1A1",
        country_code="CAN",
        region_code="CA-BC",
    )


def bench_service_vs_bare(account, user, access_token: str, sandbox_url: str, calls: int) -> dict:
    from connectors.services.contacts import LOOKUP_FIELDS, contact_payload_build, contact_upsert

    http = bearer_session(access_token)
    contacts_url = f"{sandbox_url}/crm/rest/v2/contacts"

    def bare(i: int, *, lookup: bool) -> float:
        c = contact(i, "bare-lookup" if lookup else "bare-post")
        started = time.perf_counter()
        if lookup:
            http.get(
                contacts_url, params={"filter": f"email=={c.email}", "fields": LOOKUP_FIELDS}, timeout=30
            ).raise_for_status()
        http.post(
            contacts_url,
            params={"duplicate_option": "Email"},
            json=contact_payload_build(contact=c),
            timeout=30,
        ).raise_for_status()
        return time.perf_counter() - started

    def service(i: int) -> float:
        c = contact(i, "service")
        started = time.perf_counter()
        result = contact_upsert(account=account, contact=c, performed_by=user)
        elapsed = time.perf_counter() - started
        assert result.succeeded, result.message
        return elapsed

    for i in range(20):  # warm connections, caches and the ORM
        service(10_000 + i), bare(10_000 + i, lookup=True), bare(10_000 + i, lookup=False)
    times = {"service": [], "bare": [], "post": []}
    for i in range(calls):  # interleaved, so that drift hits all three alike
        times["service"].append(service(i))
        times["bare"].append(bare(i, lookup=True))
        times["post"].append(bare(i, lookup=False))
    http.close()
    return {name: statistics.median(values) for name, values in times.items()}


def start_app(port: int, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        # The production server, one sync worker: one process, so one warm local-memory cache.
        [
            sys.executable,
            "-m",
            "gunicorn",
            "keapconnect.wsgi",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("keapconnect did not start for the benchmark")


def bench_form_render(account, control: SandboxControl, renders: int) -> dict:
    """Sequential requests from one signed-in client: the form page and the two trivial views, in turns."""
    port = free_port()
    app = start_app(port, {"DJANGO_DEBUG": "0", "DJANGO_SETTINGS_MODULE": "bench.settings"})
    base = f"http://127.0.0.1:{port}"
    try:
        http = requests.Session()
        page = http.get(f"{base}/signin/", timeout=10)
        http.post(
            f"{base}/signin/",
            data={
                "username": "bench",
                "password": "bench-password-1",
                "csrfmiddlewaretoken": CSRF_RE.search(page.text).group(1),
            },
            headers={"Referer": f"{base}/signin/"},
            timeout=10,
        ).raise_for_status()
        form_url = f"{base}/contacts/new/?account={account.pk}"
        first = http.get(form_url, timeout=30)  # fills the lookup cache of that server process
        assert first.status_code == 200 and "id_country_code" in first.text, first.status_code

        urls = {"form": form_url, "trivial": f"{base}/bench/trivial/", "health": f"{base}/healthz"}
        for url in urls.values():  # warm each path
            for _ in range(20):
                http.get(url, timeout=10)
        calls_before = control.counters()["total"]
        # Rounds that alternate the three pages, so that drift in the machine's speed hits them alike;
        # each ratio is the median of the rounds' ratios.
        seconds = {name: [] for name in urls}
        per_round = max(1, renders // ROUNDS)
        for _ in range(ROUNDS):
            for name, url in urls.items():
                started = time.perf_counter()
                for _ in range(per_round):
                    http.get(url, timeout=10).raise_for_status()
                seconds[name].append(time.perf_counter() - started)
        keap_calls = control.counters()["total"] - calls_before

        def ratio(baseline: str) -> float:  # form rps / baseline rps = baseline time / form time
            rounds = zip(seconds[baseline], seconds["form"], strict=True)
            return statistics.median(baseline_s / form_s for baseline_s, form_s in rounds)

        http.close()
        rps = {name: per_round * ROUNDS / sum(values) for name, values in seconds.items()}
        return {
            "form_rps": rps["form"],
            "trivial_rps": rps["trivial"],
            "health_rps": rps["health"],
            "form_per_trivial": ratio("trivial"),
            "form_per_health": ratio("health"),
            "keap_calls_per_render": keap_calls / (per_round * ROUNDS),
        }
    finally:
        app.terminate()
        app.wait(timeout=10)


def bench_bulk(account, user, count: int) -> float:
    from connectors.services.contacts import contact_upsert

    started = time.perf_counter()
    for i in range(count):
        result = contact_upsert(account=account, contact=contact(i, "bulk"), performed_by=user)
        assert result.succeeded, result.message
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="upserts timed for (a)")
    parser.add_argument("--renders", type=int, default=300, help="requests per page for (b)")
    parser.add_argument("--bulk", type=int, default=1000, help="contacts sent for (c)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, SandboxServer() as sandbox:
        control = SandboxControl(sandbox.url)
        control.limits(per_second=100_000, per_minute=10_000_000, per_day=100_000_000)
        setup_django(str(Path(tmp) / "bench.sqlite3"), sandbox.url)
        user, account, access_token = connect_account(sandbox.url)

        a = bench_service_vs_bare(account, user, access_token, sandbox.url, args.calls)
        b = bench_form_render(account, control, args.renders)
        c = bench_bulk(account, user, args.bulk)

    print("keapconnect benchmark (Keap sandbox over loopback HTTP, SQLite, one run)")
    print(
        f"(a) contact_upsert through the service: {a['service'] * 1000:.2f} ms; the same two bare HTTP calls "
        f"(lookup + upsert): {a['bare'] * 1000:.2f} ms"
    )
    print(f"    ratio service / bare = {a['service'] / a['bare']:.2f}  (target <= 1.3)")
    print(
        f"    for scale: the bare upsert POST alone: {a['post'] * 1000:.2f} ms; "
        f"service / bare POST alone = {a['service'] / a['post']:.2f}"
    )
    print(
        f"(b) contact form, warm lookup cache: {b['form_rps']:.0f} req/s; trivial staff-only view: "
        f"{b['trivial_rps']:.0f} req/s; /healthz (no session, no user): {b['health_rps']:.0f} req/s"
    )
    print(
        f"    ratio form / trivial staff-only view = {b['form_per_trivial']:.2f}"
        f"  (target >= 0.5); form / healthz = {b['form_per_health']:.2f}  (medians of {ROUNDS} rounds)"
    )
    print(f"    Keap calls per form render = {b['keap_calls_per_render']:g}")
    print(f"(c) {args.bulk} contacts through contact_upsert in one process: {c:.0f} upserts/s")


if __name__ == "__main__":
    main()
