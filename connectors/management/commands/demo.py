"""Run the demo: the Keap sandbox and keapconnect side by side, stopped together.

Both run as their own processes (the app never imports the sandbox): the sandbox through its
`keap_sandbox` command, keapconnect through gunicorn, the production server (no access log, so
no OAuth code from a callback URL lands in the console). Ctrl-C, SIGTERM or SIGHUP stop both.
The staff user the demo prints is created, or has its password reset, each time.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from connectors import selectors
from connectors.services.accounts import connected_account_mark_needs_reconnect

STARTUP_TIMEOUT = 30


class Stop(Exception):
    """A signal asked the demo to stop."""


class Command(BaseCommand):
    help = "Run keapconnect and the local Keap sandbox together for a demo (Ctrl-C stops both)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--addr",
            default=os.environ.get("DEMO_ADDR", "127.0.0.1:8000"),
            help="Where keapconnect listens (default 127.0.0.1:8000, or DEMO_ADDR).",
        )
        parser.add_argument("--username", default=os.environ.get("DEMO_USERNAME", "staff"))
        parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "keapconnect-demo"))

    def handle(self, *args, addr, username, password, **options):
        if not settings.KEAP_SANDBOX:
            raise CommandError("The demo runs against the Keap sandbox: set KEAP_SANDBOX=1 (make demo does).")
        sandbox = urlparse(settings.KEAP_SANDBOX_URL)
        if sandbox.hostname not in ("127.0.0.1", "localhost") or not sandbox.port:
            raise CommandError(
                "KEAP_SANDBOX_URL must be http://127.0.0.1:<port> for the demo, "
                f"not {settings.KEAP_SANDBOX_URL!r}."
            )
        app_host, _, app_port = addr.rpartition(":")
        if not app_host or not app_port.isdigit():
            raise CommandError(f"--addr / DEMO_ADDR must be host:port, like 127.0.0.1:8000, not {addr!r}.")
        _port_free(
            sandbox.hostname, sandbox.port, "the Keap sandbox", "KEAP_SANDBOX_URL=http://127.0.0.1:8766"
        )
        _port_free(app_host, int(app_port), "keapconnect", "DEMO_ADDR=127.0.0.1:8001")
        self._ensure_staff_user(username, password)
        self._mark_connections_stale()

        def stop(signum, frame):
            raise Stop(signal.Signals(signum).name)

        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # As Keap does, the sandbox accepts only the redirect URIs registered for the developer app.
        env.setdefault("KEAP_SANDBOX_REDIRECT_URIS", _callback_uris(app_host, app_port))
        processes = []
        try:
            sandbox_proc = subprocess.Popen(
                [sys.executable, str(settings.BASE_DIR / "manage.py"), "keap_sandbox"]
                + ["--host", sandbox.hostname, "--port", str(sandbox.port)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
            processes.append(sandbox_proc)
            self._wait_for_sandbox(sandbox_proc)
            app_proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "keapconnect.wsgi", "--bind", addr]
                + ["--workers", "1", "--threads", "8", "--log-level", "warning"],
                cwd=settings.BASE_DIR,
                env=env,
            )
            processes.append(app_proc)
            _wait_for_port(app_host, int(app_port), app_proc)
            self._print_banner(addr, username, password)
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            stopped = next(p for p in processes if p.poll() is not None)
            name = "The Keap sandbox" if stopped is sandbox_proc else "keapconnect"
            raise CommandError(f"{name} stopped (exit {stopped.returncode}); stopping the demo.")
        except (KeyboardInterrupt, Stop):
            self.stdout.write("\nStopping keapconnect and the Keap sandbox…")
        finally:
            for proc in processes:
                if proc.poll() is None:
                    proc.terminate()  # SIGTERM: gunicorn stops gracefully; the sandbox holds nothing
            for proc in processes:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def _ensure_staff_user(self, username, password):
        User = get_user_model()
        user, _created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()

    def _mark_connections_stale(self):
        """A new sandbox knows none of the tokens stored by an earlier demo: say so before a call fails."""
        stale = selectors.connected_account_active_list()
        for account in stale:
            connected_account_mark_needs_reconnect(
                account=account,
                error="The Keap sandbox was restarted and no longer knows this connection: reconnect it.",
            )
        if stale:
            names = ", ".join(str(account) for account in stale)
            self.stdout.write(
                f"The sandbox starts afresh: {names} must be reconnected (Keap accounts, Reconnect)."
            )

    def _wait_for_sandbox(self, proc):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        lines = []
        for line in proc.stdout:
            lines.append(line)
            self.stdout.write(line.rstrip("\n"))
            if "listening on" in line:
                break
            if time.monotonic() > deadline:
                break
        else:
            raise CommandError("The Keap sandbox did not start:\n" + "".join(lines[-20:]))
        # Keep echoing what the sandbox prints (its credentials, its errors) from now on.
        threading.Thread(
            target=lambda: [self.stdout.write(line.rstrip("\n")) for line in proc.stdout], daemon=True
        ).start()
        time.sleep(0.5)

    def _print_banner(self, addr, username, password):
        line = "=" * 72
        self.stdout.write(
            self.style.SUCCESS(f"""
{line}
keapconnect demo is running (Ctrl-C stops everything)

  keapconnect:   http://{addr}/        sign in as {username} / {password}
  Keap sandbox:  {settings.KEAP_SANDBOX_URL}/   (its users, keys and control API)

Connect an account: open keapconnect, "Connect a Keap account", paste the sandbox's
client ID and secret printed above, click "Sign in with Keap" and sign in on the sandbox
as one of its users (also printed above).

The sandbox keeps its state in memory: after a restart, connected accounts need
"Reconnect" (or delete db.sqlite3 to start over).
{line}
""")
        )


def _callback_uris(host: str, port: str) -> str:
    """keapconnect's callback URL, under each name of this machine a browser may use for it."""
    if settings.KEAP_REDIRECT_URI:
        return settings.KEAP_REDIRECT_URI
    hosts = {host, "127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost", "0.0.0.0") else {host}
    return ",".join(f"http://{name}:{port}/connect/callback/" for name in sorted(hosts - {"0.0.0.0"}))


def _port_free(host: str, port: int, what: str, alternative: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError:
            raise CommandError(
                f"Port {port} on {host} is in use, so {what} cannot start there: is another demo "
                f"still running? Stop it, or choose another port, e.g. make demo {alternative}"
            ) from None


def _wait_for_port(host: str, port: int, proc, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CommandError(f"keapconnect did not start on {host}:{port} (exit {proc.returncode}).")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise CommandError(f"keapconnect did not start on {host}:{port} within {timeout:.0f} s.")
