"""Test support for the Keap sandbox: start it as a real process, drive it, walk the OAuth dance.

Talks to the sandbox over HTTP only; never imports connectors.sandbox.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# ---- the seeded credentials (connectors/sandbox/seed.py) ------------------------------------------
CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sandbox-client-secret"
CLIENT_NAME = "KeapConnect"
OTHER_CLIENT_ID = "other-client-id"
OTHER_CLIENT_SECRET = "other-client-secret"
OTHER_CLIENT_NAME = "Other Integration"

ALICE = "alice@example.com"
ALICE_PASSWORD = "alice-password"
BOB = "bob@example.com"
BOB_PASSWORD = "bob-password"
USERS = {ALICE: ALICE_PASSWORD, BOB: BOB_PASSWORD}
USER_APPS = {ALICE: ["sa101", "sa102"], BOB: ["sb201"]}

APPS = {
    "sa101": {"host": "sa101.infusionsoft.com", "business": "Alpine Bakery", "user": ALICE},
    "sa102": {"host": "sa102.infusionsoft.com", "business": "Bayside Dental", "user": ALICE},
    "sb201": {"host": "sb201.infusionsoft.com", "business": "Cedar Yoga", "user": BOB},
}
TAGS = {  # app -> tag name -> tag id
    "sa101": {"Customer": "101", "Newsletter": "102", "VIP": "103"},
    "sa102": {"Customer": "201", "Newsletter": "202", "VIP": "203"},
    "sb201": {"Customer": "301", "Newsletter": "302", "VIP": "303"},
}
CUSTOM_FIELDS = {"Favorite Color": "7", "Loyalty Points": "9", "Preferred Contact": "11"}  # sa101, sa102
SHARED_EMAIL = "shared@example.com"  # two contacts in sa101
EXISTING_EMAIL = "existing@example.com"  # sa101: EMAIL1+2, PHONE1+2, BILLING+SHIPPING
UNSUBSCRIBED_EMAIL = "unsubscribed@example.com"  # sa101: opted out (NON_MARKETABLE)

LISTENING_RE = re.compile(r"Keap sandbox listening on (http://\S+)")


class SandboxServer:
    """The sandbox as a subprocess: `python manage.py keap_sandbox --port 0` from the project root."""

    def __init__(
        self,
        *,
        access_token_ttl: int | None = None,
        env: dict | None = None,
        host: str = "127.0.0.1",
        startup_timeout: float = 20.0,
    ):
        self.host = host
        self.access_token_ttl = access_token_ttl
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.url: str | None = None
        self.output: deque[str] = deque(maxlen=200)

    def start(self) -> SandboxServer:
        cmd = [sys.executable, "manage.py", "keap_sandbox", "--host", self.host, "--port", "0"]
        if self.access_token_ttl is not None:
            cmd += ["--access-token-ttl", str(self.access_token_ttl)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        found = threading.Event()

        def drain():
            for line in self.process.stdout:
                self.output.append(line.rstrip("\n"))
                if not found.is_set():
                    m = LISTENING_RE.search(line)
                    if m:
                        self.url = m.group(1)
                        found.set()
            found.set()

        threading.Thread(target=drain, name="keap-sandbox-output", daemon=True).start()
        if not found.wait(self.startup_timeout) or self.url is None:
            self.stop()
            raise RuntimeError("The Keap sandbox did not start:\n" + "\n".join(self.output))
        return self

    def wait_for_output(self, text: str, timeout: float = 5.0) -> str:
        """The first line of the server's output that contains `text` (waits for it to be printed)."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.output):
                if text in line:
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the sandbox's output:\n" + "\n".join(self.output))
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class SandboxControl:
    """A small client for the sandbox's control interface (/_sandbox/...)."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    # the URLs the app's settings point at
    @property
    def authorize_url(self) -> str:
        return f"{self.url}/app/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/crm/rest"

    def _call(self, method: str, path: str, **kwargs):
        response = self.http.request(method, f"{self.url}/_sandbox{path}", timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"sandbox control {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/reset")

    def seed(self, app: str, contacts: list[dict], email_status: dict | None = None) -> list[str]:
        body = {"app": app, "contacts": contacts}
        if email_status:
            body["email_status"] = email_status
        return self._call("POST", "/seed", json=body)["ids"]

    def fault(
        self,
        path: str,
        status: int | None = None,
        count: int | None = 1,
        method: str | None = None,
        delay_ms: int = 0,
        body=None,
        headers: dict | None = None,
    ) -> None:
        self._call(
            "POST",
            "/faults",
            json={
                "path": path,
                "status": status,
                "count": count,
                "method": method,
                "delay_ms": delay_ms,
                "body": body,
                "headers": headers,
            },
        )

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def expire(self, access_token: str | None = None, app: str | None = None) -> int:
        body = {"access_token": access_token, "app": app}
        return self._call("POST", "/tokens/expire", json=body)["expired"]

    def revoke(self, app: str) -> int:
        return self._call("POST", "/tokens/revoke", json={"app": app})["revoked"]

    def limits(self, **limits) -> dict:
        return self._call("POST", "/limits", json=limits)

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/clock", json={"advance": seconds})

    def counters(self) -> dict:
        return self._call("GET", "/counters")

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict]:
        params = {k: v for k, v in (("path", path), ("method", method)) if v}
        return self._call("GET", "/requests", params=params)["requests"]

    def contacts(self, app: str) -> list[dict]:
        return self._call("GET", "/contacts", params={"app": app})["contacts"]

    def redirect_uris(self, client_id: str, uris: list[str]) -> list[str]:
        """Register the developer app's redirect URIs (exact match); [] accepts any (the default)."""
        return self._call("POST", "/redirect-uris", json={"client_id": client_id, "uris": uris})["uris"]


# ---- the OAuth dance, as a person in a browser walks it ------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
FLOW_RE = re.compile(r'name="flow" value="([^"]+)"')


def form_fields(response: requests.Response) -> dict:
    """The hidden fields of a sign-in page's form: its sign-in (`flow`) and `csrf_token`."""
    flow, csrf = FLOW_RE.search(response.text), CSRF_RE.search(response.text)
    if not flow or not csrf:
        raise AssertionError(
            f"no sign-in form at {response.url} ({response.status_code}):\n{response.text[:500]}"
        )
    return {"flow": flow.group(1), "csrf_token": csrf.group(1)}


def oauth_authorize_redirect(
    sandbox_url: str,
    redirect_uri: str,
    user: str,
    app: str | None = None,
    *,
    client_id: str = CLIENT_ID,
    state: str | None = "test-state",
    password: str | None = None,
    decision: str = "allow",
    session: requests.Session | None = None,
) -> str:
    """Walk authorize -> sign in -> pick -> Allow/Deny; return the URL the sandbox redirects back to."""
    http = session or requests.Session()
    base = sandbox_url.rstrip("/")
    params = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code", "scope": "full"}
    if state is not None:
        params["state"] = state
    page = http.get(f"{base}/app/oauth/authorize", params=params, timeout=10)
    if page.status_code != 200:
        raise AssertionError(f"authorize refused ({page.status_code}): {page.text[:500]}")
    page = http.post(
        f"{base}/app/oauth/signin",
        timeout=10,
        data={**form_fields(page), "username": user, "password": password or USERS[user]},
    )
    if page.status_code != 200:
        raise AssertionError(f"sign-in refused ({page.status_code}): {page.text[:500]}")
    if page.url.endswith("/app/oauth/account"):
        chosen = app or USER_APPS[user][0]
        page = http.post(f"{base}/app/oauth/account", data={**form_fields(page), "app": chosen}, timeout=10)
        if page.status_code != 200:
            raise AssertionError(f"account choice refused ({page.status_code}): {page.text[:500]}")
    elif app is not None and USER_APPS.get(user) and app not in USER_APPS[user]:
        raise AssertionError(f"{user} has no Keap app {app}")
    answer = http.post(
        f"{base}/app/oauth/consent",
        data={**form_fields(page), "decision": decision},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 302:
        raise AssertionError(f"consent answered {answer.status_code}: {answer.text[:500]}")
    return answer.headers["Location"]


def oauth_dance(
    sandbox_url: str,
    redirect_uri: str,
    user: str = ALICE,
    app: str | None = None,
    *,
    client_id: str = CLIENT_ID,
    state: str | None = "test-state",
    password: str | None = None,
) -> str:
    """Walk the whole consent as `user`, choosing Keap app `app` (default: the user's first), click
    Allow; return the code."""
    location = oauth_authorize_redirect(
        sandbox_url, redirect_uri, user, app, client_id=client_id, state=state, password=password
    )
    query = parse_qs(urlsplit(location).query)
    if "code" not in query:
        raise AssertionError(f"no code in the redirect: {location}")
    if state is not None and query.get("state") != [state]:
        raise AssertionError(f"state changed in the redirect: {location}")
    return query["code"][0]


def exchange_code(
    sandbox_url: str,
    code: str,
    redirect_uri: str,
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
) -> requests.Response:
    """POST /token with grant_type=authorization_code (credentials in the body, as Keap wants)."""
    return requests.post(
        f"{sandbox_url.rstrip('/')}/token",
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )


def refresh_tokens(
    sandbox_url: str, refresh_token: str, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET
) -> requests.Response:
    """POST /token with grant_type=refresh_token (credentials in HTTP Basic, as Keap wants)."""
    return requests.post(
        f"{sandbox_url.rstrip('/')}/token",
        timeout=10,
        auth=(client_id, client_secret),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
    )


def connect(
    sandbox_url: str,
    user: str = ALICE,
    app: str = "sa101",
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    redirect_uri: str = "http://127.0.0.1:9/callback",
) -> dict:
    """The dance plus the code exchange: the token response (access_token, refresh_token, scope...)."""
    code = oauth_dance(sandbox_url, redirect_uri, user, app, client_id=client_id)
    response = exchange_code(
        sandbox_url, code, redirect_uri, client_id=client_id, client_secret=client_secret
    )
    response.raise_for_status()
    return response.json()


def wait_until_up(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(f"{url}/_sandbox/health", timeout=1).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def bearer_session(access_token: str) -> requests.Session:
    """A requests.Session that sends `Authorization: Bearer <access_token>` on every call."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {access_token}"
    return http
