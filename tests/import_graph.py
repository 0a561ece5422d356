"""What a Lambda function can import: the modules of ``handler/`` its entry reaches, following
every import statement of every module reached (at its top or inside a function: a lazy import
runs when its function does), and the distributions those modules import from outside.

Imports under ``if TYPE_CHECKING:`` never run and are not followed. It over-approximates (a
module reached may never call the function that imports something), never under: what a
function's artifact ships is chosen from it (pyproject.toml's ``[tool.imagegate.functions]``,
held to it by ``tests/unit/test_function_requirements.py``).
"""

import ast
import re
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLER = ROOT / "handler"
# Imported by what the functions import, where the static graph cannot see it: starlette parses
# multipart forms with python-multipart only when a route reads a form (``api/forms.py``).
INDIRECT = {"handler.api.forms": {"python_multipart"}}
# What Lambda's Python runtime provides (the SnapStart hooks): never shipped.
RUNTIME = {"snapshot_restore_py"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def shipped_modules() -> dict[str, Path]:
    """Every module of ``handler/`` the artifacts hold (the CLI never ships)."""
    return {
        module_name(path): path
        for path in sorted(HANDLER.rglob("*.py"))
        if HANDLER / "cli" not in path.parents
    }


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: list[ast.stmt]) -> Iterator[ast.AST]:
    for node in body:
        if isinstance(node, ast.If) and _type_checking(node):
            yield from _statements(node.orelse)
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from _statements(getattr(node, field, []))
        if isinstance(node, ast.Try | ast.TryStar):
            for handler in node.handlers:
                yield from _statements(handler.body)


@cache
def imports_of(module: str) -> frozenset[str]:
    """The names ``module`` imports: modules, or ``package.name`` where a name may be either."""
    path = shipped_modules()[module]
    names: set[str] = set(INDIRECT.get(module, ()))
    for node in _statements(ast.parse(path.read_text()).body):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return frozenset(names)


@dataclass(frozen=True)
class Reach:
    modules: frozenset[str]  # of handler/
    outside: dict[str, str]  # a top-level module from outside → a module of ours importing it


def reach(*roots: str) -> Reach:
    """What importing ``roots`` (modules of ``handler/``) can import, and why."""
    ours = shipped_modules()
    seen: set[str] = set()
    outside: dict[str, str] = {}
    queue = deque(roots)
    while queue:
        module = queue.popleft()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        queue.extend(".".join(parts[:end]) for end in range(1, len(parts)))  # its packages
        for name in imports_of(module):
            top = name.split(".")[0]
            if top != "handler":
                if top not in sys.stdlib_module_names and top != "__future__":
                    outside.setdefault(top, module)
            elif name in ours:
                queue.append(name)
    return Reach(frozenset(seen), dict(sorted(outside.items())))


def distributions(top_levels: set[str] | dict[str, str]) -> set[str]:
    """The distributions (pip's names, lowercase) that provide these top-level modules, less
    what Lambda's runtime provides."""
    providers = packages_distributions()
    found = set()
    for top in set(top_levels) - RUNTIME:
        if top not in providers:
            raise LookupError(f"no installed distribution provides {top}")
        found |= {re.sub(r"[-_.]+", "-", name).lower() for name in providers[top]}
    return found


def why(root: str, target: str) -> list[str]:
    """A chain of imports from ``root`` to a module importing ``target`` (a top-level name)."""
    ours = shipped_modules()
    previous: dict[str, str | None] = {root: None}
    queue = deque([root])
    while queue:
        module = queue.popleft()
        for name in sorted(imports_of(module)):
            if name.split(".")[0] == target:
                chain = [name, module]
                while (before := previous[chain[-1]]) is not None:
                    chain.append(before)
                return chain[::-1]
            if name in ours and name not in previous:
                previous[name] = module
                queue.append(name)
    return []
