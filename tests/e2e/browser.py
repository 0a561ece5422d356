"""What the console's browser tests share: where screenshots go, the widths they look at,
how an amount must read, and the page's address on a stack (the browser and page fixtures
are ``conftest.py``'s)."""

import re
from typing import TYPE_CHECKING, Any

from tests.support import ROOT

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

SHOTS = ROOT / "build" / "test-artifacts" / "console"
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
