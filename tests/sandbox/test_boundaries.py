"""The sandbox and the app never import each other (the sandbox stands in for Keap, a separate system)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "connectors" / "sandbox"


def imported_modules(path: Path, package: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            else:
                names.add(node.module)
    return names


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])


def test_the_sandbox_imports_nothing_of_the_app_and_django_only_in_its_command():
    offences = []
    for path in SANDBOX.rglob("*.py"):
        command = "management" in path.relative_to(SANDBOX).parts
        for name in imported_modules(path, package_of(path)):
            if name.startswith("connectors") and not name.startswith("connectors.sandbox"):
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
            if name.startswith("django") and not command and path.name != "apps.py":
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offences, "\n".join(offences)


def test_the_app_never_imports_the_sandbox():
    offences = []
    for top in ("connectors", "keapconnect"):
        for path in (ROOT / top).rglob("*.py"):
            if SANDBOX in path.parents:
                continue
            for name in imported_modules(path, package_of(path)):
                if name.startswith("connectors.sandbox"):
                    offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offences, "\n".join(offences)
