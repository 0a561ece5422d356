"""What the console's browser tests share: where screenshots go, the widths they look at,
how an amount must read, and the page's address on a stack (the browser and page fixtures
are ``conftest.py``'s)."""

import os
import re
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import ROOT

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

SHOTS = ROOT / "build" / "test-artifacts" / "console"
AXE = ROOT / "tests" / "e2e" / "js" / "node_modules" / "axe-core" / "axe.min.js"
WAIT_MS = 60_000
# Every amount, as the console writes it: the local stack's currency, then the amount with
# two decimals, more only where it has a fraction of a cent.
AMOUNT = re.compile(r"^-?\$\d{1,3}(,\d{3})*\.\d{2}(\d{0,4})$")
WIDTHS = {"desktop": 1280, "phone": 390}
# A browser as root, on a machine with no network but loopback: no sandbox, and none of
# Chromium's own connections out.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def console_url(stack: "Stack") -> str:
    return stack.base_url.removesuffix("/v1") + "/console/"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A and AA rules (labels, names, contrast, landmarks, ...), run in
    the page by the driver (the page's own policy admits no script from elsewhere)."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"no {AXE}: `make test` installs it with npm")
        pytest.skip("axe-core is installed with npm (tests/e2e/js)")
    page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',
            'wcag21aa', 'best-practice']})).violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"""
    )
    return found
