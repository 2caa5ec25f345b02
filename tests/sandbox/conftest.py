# The sandbox fixtures, for these tests. Once the root conftest has
# `pytest_plugins = ["tests.support.fixtures"]`, this import is redundant (and harmless).
from tests.support.fixtures import sandbox, sandbox_server  # noqa: F401
