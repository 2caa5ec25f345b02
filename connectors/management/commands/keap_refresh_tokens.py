"""Refresh the tokens of active connections before Keap lets them die (45 days idle). For cron.

    python manage.py keap_refresh_tokens [--older-than-days N] [--dry-run]

Exits with status 1 when any refresh failed, so that cron's mail or the monitoring notices.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from connectors.errors import ConnectorError
from connectors.keap.errors import KeapError
from connectors.selectors import connected_account_refresh_due_list
from connectors.services.accounts import oauth_token_refresh


class Command(BaseCommand):
    help = (
        "Refresh the tokens of active Keap connections whose refresh token is older than "
        "KEAP_REFRESH_TOKEN_MAX_AGE_DAYS (Keap kills refresh tokens unused for 45 days)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=None,
            help=f"Refresh tokens issued more than this many days ago "
            f"(default: KEAP_REFRESH_TOKEN_MAX_AGE_DAYS, now {settings.KEAP_REFRESH_TOKEN_MAX_AGE_DAYS}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only list the accounts that are due.")

    def handle(self, *args, older_than_days=None, dry_run=False, **options):
        days = settings.KEAP_REFRESH_TOKEN_MAX_AGE_DAYS if older_than_days is None else older_than_days
        if days < 0:
            raise CommandError("--older-than-days cannot be negative.")
        now = timezone.now()
        due = list(connected_account_refresh_due_list(older_than_days=days, now=now))
        if not due:
            self.stdout.write(f"No active connection has a refresh token older than {days} days.")
            return
        failed = 0
        for account in due:
            age = _age(account, now)
            label = f"{account} [{account.app_host}, id {account.pk}] (refresh token {age})"
            if dry_run:
                self.stdout.write(f"would refresh {label}")
                continue
            try:
                fresh = oauth_token_refresh(account=account, now=now)
            except (ConnectorError, KeapError) as exc:
                failed += 1
                self.stderr.write(f"FAILED {label}: {exc}")
            else:
                expires = fresh.access_token_expires_at
                until = f"; the new access token expires {expires:%Y-%m-%d %H:%M %Z}" if expires else ""
                self.stdout.write(self.style.SUCCESS(f"refreshed {label}{until}"))
        if dry_run:
            self.stdout.write(f"Dry run: {len(due)} connection(s) due, nothing refreshed.")
            return
        self.stdout.write(f"{len(due) - failed} refreshed, {failed} failed.")
        if failed:
            raise CommandError(f"{failed} of {len(due)} connection(s) could not be refreshed.", returncode=1)


def _age(account, now) -> str:
    if account.refresh_token_issued_at is None:
        return "of unknown age"
    return f"{(now - account.refresh_token_issued_at).days} days old"
