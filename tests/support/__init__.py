"""Helpers shared by the test suites (the Keap sandbox server, its control client, the OAuth dance)."""
