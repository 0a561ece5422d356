"""What ships to Lambda stands on its own: no module outside ``handler/cli`` imports the CLI
or a dev-only package, so leaving ``handler/cli`` out of the artifact leaves nothing broken."""

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

HANDLER = ROOT / "handler"
# The packages only the command line and the tests have (pyproject's cli and dev extras).
DEV_ONLY = {"moto", "uvicorn", "typer", "rich", "yaml", "werkzeug", "openai", "pytest", "httpx2"}
SHIPPED = sorted(path for path in HANDLER.rglob("*.py") if HANDLER / "cli" not in path.parents)


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: str(path.relative_to(ROOT)))
def test_shipped_modules_import_neither_the_cli_nor_dev_packages(path: Path) -> None:
    imported = _imported(path)
    assert not {name for name in imported if name.startswith("handler.cli")}
    assert not {name.split(".")[0] for name in imported} & DEV_ONLY


def test_the_cli_only_modules_live_in_the_cli() -> None:
    cli_only = {"provision", "stacks", "openapi", "gateway", "runtime", "template"}
    assert not [path for path in SHIPPED if path.stem in cli_only]
