"""The Keap sandbox: a local stand-in for Keap's OAuth and REST v2, run as its own server process.

It is installed as a Django app only so that `python manage.py keap_sandbox` exists. It never
imports keapconnect's models or services, and keapconnect never imports it.
"""
