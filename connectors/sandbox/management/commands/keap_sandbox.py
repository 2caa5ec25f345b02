"""`python manage.py keap_sandbox`: run the Keap sandbox (a separate server process) until Ctrl-C."""

from django.core.management.base import BaseCommand

from connectors.sandbox.config import DEFAULT_HOST, DEFAULT_PORT


class Command(BaseCommand):
    help = "Run the Keap sandbox: a local stand-in for Keap's OAuth 2.0 and REST v2."
    requires_system_checks = []  # the sandbox does not depend on the app's configuration

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=DEFAULT_PORT,
            help=f"port (default {DEFAULT_PORT}; 0 picks a free port)",
        )
        parser.add_argument(
            "--access-token-ttl",
            type=int,
            default=None,
            help="access-token lifetime in seconds (default $KEAP_SANDBOX_ACCESS_TOKEN_TTL or 86400)",
        )

    def handle(self, *args, **options):
        from connectors.sandbox.server import run

        run(options["host"], options["port"], options["access_token_ttl"])
