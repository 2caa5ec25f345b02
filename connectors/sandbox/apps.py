from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "connectors.sandbox"
    label = "keap_sandbox"
    verbose_name = "Keap sandbox"
