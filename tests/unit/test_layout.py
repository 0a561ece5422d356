"""What ships to Lambda stands on its own: no module outside ``handler/cli`` imports the CLI
or a dev-only package, so leaving ``handler/cli`` out of the artifact leaves nothing broken."""

import ast
import socket
from pathlib import Path
from typing import TypeGuard

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
        elif isinstance(node, ast.ImportFrom) and node.module == "handler":
            names |= {f"handler.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: str(path.relative_to(ROOT)))
def test_shipped_modules_import_neither_the_cli_nor_dev_packages(path: Path) -> None:
    imported = _imported(path)
    assert not {name for name in imported if name.startswith("handler.cli")}
    assert not {name.split(".")[0] for name in imported} & DEV_ONLY


def test_the_cli_only_modules_live_in_the_cli() -> None:
    cli_only = {
        "provision",
        "stacks",
        "openapi",
        "gateway",
        "runtime",
        "functions",
        "template",
        "signals",
    }
    assert not [path for path in SHIPPED if path.stem in cli_only]


# What a newcomer can hold in mind at once: a module, a class, a route.
MAX_MODULE_LINES = 250
MAX_CLASS_LINES = 150
MAX_ROUTE_BODY_LINES = 10
ALL_MODULES = sorted(HANDLER.rglob("*.py"))


def _length(node: ast.stmt) -> int:
    return (node.end_lineno or node.lineno) - node.lineno + 1


def _is_route(node: ast.AST) -> TypeGuard[ast.FunctionDef | ast.AsyncFunctionDef]:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and isinstance(decorator.func.value, ast.Name)
        and decorator.func.value.id == "router"
        for decorator in node.decorator_list
    )


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring is not the body
    return (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1 if body else 0


def test_modules_classes_and_routes_stay_small() -> None:
    too_long: list[str] = []
    for path in ALL_MODULES:
        name = str(path.relative_to(ROOT))
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and _length(node) > MAX_CLASS_LINES:
                too_long.append(f"{name}: class {node.name}, {_length(node)} lines")
            if _is_route(node) and _body_lines(node) > MAX_ROUTE_BODY_LINES:
                too_long.append(f"{name}: route {node.name}, {_body_lines(node)} lines")
    assert not too_long, "\n".join(too_long)


def test_the_unit_tier_opens_no_connection_and_starts_no_moto() -> None:
    with pytest.raises(AssertionError, match="tests/integration"):
        socket.create_connection(("127.0.0.1", 9))
    unit = sorted((ROOT / "tests" / "unit").glob("*.py"))
    assert not [path.name for path in unit if "moto" in {n.split(".")[0] for n in _imported(path)}]


# The layers of what ships, and what each may import (a package imports itself freely). The
# composition root (main, the apps, the containers) may import anything.
# Rules and records never reach AWS or a vendor SDK themselves: they name a port, and an
# adapter below implements it.
MAY_IMPORT: dict[str, set[str]] = {
    "observability": {"config"},
    "core": {"observability"},  # errors, records, and rules that need nothing outside
    "ports": {"core"},
    "aws": {"core.errors", "observability"},  # the leaf every adapter calls AWS through
    "money": {"core", "ports", "observability"},
    "keys": {"core", "ports", "money", "observability"},
    "generation": {"core", "ports", "money", "keys", "observability"},
    "work": {"core", "ports", "money", "keys", "generation", "observability"},
    "accounts": {"core", "ports", "money", "keys", "observability"},
    "stores": {"core", "ports", "aws", "observability"},
    "money.stored": {"core", "ports", "aws", "stores", "money", "observability"},
    "backends": {"core", "ports", "aws", "config", "observability"},
    "provenance": {"core", "ports", "aws", "observability"},  # C2PA signing (c2pa-python)
    "config": {"core.amounts"},  # the one rule for amounts, a leaf
    "api": {
        "core",
        "ports",
        "money",
        "keys",
        "generation",
        "work",
        "accounts",
        "config",
        "observability",
    },
}
COMPOSITION = {
    "main",
    "app",
    "admin_app",
    "member_app",
    "streamed_app",
    "caches",
    "container",
    "generation_container",
    "work_container",
    "billing_container",
    "accounts_container",
    "members_container",
    "moderation_container",
}
VENDOR_SDKS = {"boto3", "botocore", "mypy_boto3_dynamodb", "stripe", "replicate", "c2pa"}
VENDOR_LAYERS = {"aws", "stores", "money.stored", "backends", "provenance"}


def _layer(module: str) -> str:
    parts = module.split(".")[1:]
    return "money.stored" if parts[:2] == ["money", "stored"] else parts[0]


def _allowed(target: str, allowed: set[str]) -> bool:
    inside = target.removeprefix("handler.")
    return any(inside == rule or inside.startswith(rule + ".") for rule in allowed)


def test_every_shipped_package_has_its_place_in_the_layers() -> None:
    layers = {_layer(".".join(path.relative_to(ROOT).with_suffix("").parts)) for path in SHIPPED}
    assert layers - {"__init__"} <= MAY_IMPORT.keys() | COMPOSITION


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: str(path.relative_to(ROOT)))
def test_imports_go_down_the_layers_only(path: Path) -> None:
    layer = _layer(".".join(path.relative_to(ROOT).with_suffix("").parts))
    imported = _imported(path)
    vendors = {name.split(".")[0] for name in imported} & VENDOR_SDKS
    assert layer in VENDOR_LAYERS or not vendors, f"{layer} may not import {sorted(vendors)}"
    if layer in COMPOSITION or layer == "__init__":
        return
    allowed = MAY_IMPORT[layer] | {layer}
    upward = sorted(
        name
        for name in imported
        if name.startswith("handler.") and _layer(name) != layer and not _allowed(name, allowed)
    )
    assert not upward, f"{layer} may not import {upward}"


def test_the_configuration_stands_on_a_leaf() -> None:
    # Everything logs, and the logger reads its name through config: config may import only
    # the amount rule, and that rule nothing of ours, so no import can come round in a circle.
    assert not {n for n in _imported(HANDLER / "core" / "amounts.py") if n.startswith("handler")}
