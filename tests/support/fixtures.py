"""Pytest fixtures for the Keap sandbox. Enable with `pytest_plugins = ["tests.support.fixtures"]`.

- `sandbox_server`: one real sandbox process for the whole session.
- `sandbox`: a `SandboxControl` (with `.url`) on that server, reset to the seed before each test.
"""

from __future__ import annotations

import pytest

from tests.support.sandbox import SandboxControl, SandboxServer


@pytest.fixture(scope="session")
def sandbox_server():
    server = SandboxServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server) -> SandboxControl:
    control = SandboxControl(sandbox_server.url)
    control.reset()
    yield control
    control.http.close()
