"""A customer who signs themselves up, in a real browser (headless Chromium, Playwright)
against the local stack started as `imagegate dev --parameter-overrides SignUp=open`: sign up,
confirm with the code the stack's terminal shows, open an account, make a key, top it up by
card on the Stripe stand-in, spend from the OpenAI SDK, see it under that key; an operator
signs in, sees the account and its revenue, suspends it (the console signs the admin API with
the identity pool's credentials), and the key gets 401. Screenshots of every view, at a
desktop's and a phone's width, go to build/test-artifacts/console/."""

import re
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from handler.cli.members import OPERATOR_EMAIL
from tests.e2e.browser import AMOUNT, SHOTS, WAIT_MS, WIDTHS, axe_violations, console_url, shot
from tests.e2e.conftest import Stack
from tests.support import signed

PASSWORD = "Correct-Horse-9-Battery"
VIEWS = ("account", "keys", "account-usage", "account-billing", "members")


def _code(stack: Stack, email: str) -> str:
    """The confirmation code the stack's terminal showed for ``email``."""
    return _shown(stack, rf"confirmation code for {re.escape(email)}: (\d{{6}})")


def _shown(stack: Stack, pattern: str) -> str:
    """What the stack's terminal (its stderr log) showed last that ``pattern`` finds."""
    assert stack.state_dir is not None
    log = stack.state_dir.parent / f"{stack.state_dir.name}.stderr"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.findall(pattern, Path(log).read_text())
        if found:
            return str(found[-1])
        time.sleep(0.2)
    raise AssertionError(f"nothing like {pattern} in {log}")


def _tables_have_their_headers(page: Any) -> None:
    tables = page.evaluate(
        """() => [...document.querySelectorAll('#account-app table')]
          .filter(t => t.offsetParent !== null && t.tBodies[0].rows.length).map(t => ({
            id: t.id, headers: [...t.tHead.rows[0].cells].map(th => th.textContent),
            cells: Math.max(...[...t.tBodies[0].rows].map(r => r.cells.length))}))"""
    )
    assert {t["id"] for t in tables} >= {
        "keys-table",
        "account-usage-table",
        "account-ledger-table",
    }
    for table in tables:
        assert len(table["headers"]) == table["cells"], table


def test_a_customer_signs_up_pays_spends_and_an_operator_suspends_them(
    page: Any, local_stack: Stack
) -> None:
    email = f"ada-{time.time_ns()}@example.com"
    page.goto(console_url(local_stack))
    # Sign up, and confirm with the code the stack's terminal shows (an email, deployed)
    page.get_by_role("button", name="Create a login").click()
    page.get_by_label("Your email").fill(email)
    page.get_by_label("A password").fill(PASSWORD)
    page.get_by_role("button", name="Create login").click()
    page.get_by_label("The code sent to").fill(_code(local_stack, email))
    shot(page, "20-confirm")
    page.get_by_role("button", name="Confirm").click()
    # Signed in: no account yet, so one is opened
    page.get_by_label("Name of your new account").fill("Ada's studio")
    page.get_by_role("button", name="Open the account").click()
    page.locator('#account-status[data-value="active"]').wait_for()
    assert page.evaluate("sessionStorage.getItem('imagegate.member')")
    assert page.context.cookies() == []
    # A key, its secret shown once, with a budget of its own
    page.get_by_label("Name", exact=True).fill("shop")
    page.get_by_label("Budget a day (USD, optional)").fill("5")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("The new key", exact=True).input_value()
    assert secret.startswith("ig_")
    page.locator("#keys-table tbody tr", has_text="shop").wait_for()
    shot(page, "21-key-made")
    # Its budget changed afterwards: a day's raised, a month's set
    page.get_by_role("button", name="Change shop").click()
    page.get_by_label("Its budget a day").fill("6")
    page.get_by_label("Its budget a month").fill("50")
    page.get_by_role("button", name="Save the key").click()
    page.locator("#keys-table tbody tr", has_text="of $6.00").wait_for()
    assert "of $50.00" in page.locator("#keys-table tbody tr", has_text="shop").inner_text()
    # Top up by card on the Stripe stand-in, and back
    page.get_by_label("Top up the account by card (USD)").fill("10")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url("**/pay/**")
    page.get_by_role("button", name="Pay").click()
    page.locator('#account-notice[data-outcome="paid"]').wait_for()
    assert page.locator("#account-notice").inner_text() == (
        "Payment received: $10.00 added to the account."
    )
    assert page.locator("#account-balance").get_attribute("data-value") == "10000000"
    # The new key spends from the OpenAI SDK, and the account's usage shows it under the key
    client = local_stack.client(api_key=secret)
    client.images.generate(model="imagegate-preview", prompt="a lighthouse", size="256x256")
    page.reload()
    row = page.locator("#account-usage-table tbody tr", has_text="shop")
    row.wait_for()
    assert row.locator("td").all_text_contents()[:4] == ["shop", "imagegate-preview", "1", "1"]
    _tables_have_their_headers(page)
    shown = "#account-app td.amount, #account-balance, #account-held, #account-spent"
    amounts = page.evaluate(
        f"() => [...document.querySelectorAll('{shown}, #account-usage-spend')]"
        ".map(n => n.textContent)"
    )
    assert amounts
    assert [a for a in amounts if not AMOUNT.match(a.split(" of ")[0])] == []
    # Every view, at a desktop's and a phone's width
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"22-account-{name}")
        for view in VIEWS:
            page.locator(f"#{view}").screenshot(path=str(SHOTS / f"23-{name}-{view}.png"))
        wide = page.evaluate(
            f"() => [...document.querySelectorAll('#account-app *')].filter(e =>"
            f" !e.closest('thead') && e.getBoundingClientRect().right > {width} + 1)"
            f".map(e => e.id || e.tagName"
            f" + '.' + e.className).slice(0, 12)"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= width, wide
    # An operator signs in, sees the account and its revenue, and suspends it from the console
    account_id = secret.split("_")[1].split("-")[0]
    operator = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    desk = operator.new_page()
    desk.set_default_timeout(WAIT_MS)
    desk.goto(console_url(local_stack))
    desk.get_by_label("Email", exact=True).fill(OPERATOR_EMAIL)
    assert local_stack.state_dir is not None
    password = (local_stack.state_dir / "operator-password").read_text().strip()
    desk.get_by_label("Password", exact=True).fill(password)
    desk.get_by_role("button", name="Sign in with email").click()
    row = desk.locator(f'#operator-accounts-table tr[data-account-id="{account_id}"]')
    row.wait_for()
    assert row.locator("td").all_text_contents()[1:5] == [
        "Ada's studio",
        "active",
        "$9.9995",
        "$0.0005",
    ]
    paid_in = int(desk.locator("#operator-paid-in").get_attribute("data-value") or 0)
    assert paid_in >= 10_000_000  # this account's card top-up among them
    assert desk.locator("#operator-days-table tbody tr").count() >= 1
    # and what the preview placement earned: it costs the deployment nothing
    margin = desk.locator("#operator-margin-table tbody tr", has_text="imagegate-preview")
    cells = margin.first.locator("td").all_text_contents()
    assert (cells[1], cells[4], cells[5]) == ("preview", "$0.00", cells[3]), cells
    shot(desk, "24-operator")
    desk.get_by_label("Reason for a suspension").fill("chargebacks")
    row.get_by_role("button", name="Suspend Ada's studio").click()
    desk.locator(
        f'#operator-accounts-table tr[data-account-id="{account_id}"]', has_text="suspended"
    ).wait_for()
    operator.close()
    with pytest.raises(openai.AuthenticationError) as refused:
        client.images.generate(model="imagegate-preview", prompt="again", size="256x256")
    assert refused.value.code == "account_suspended"
    # And the customer's console says so
    page.reload()
    page.locator('#account-status[data-value="suspended"]').wait_for()
    assert "chargebacks" in page.locator("#account-status-text").inner_text()
    shot(page, "25-suspended")


def test_an_invited_owner_sets_a_password_and_takes_up_the_account(
    page: Any, local_stack: Stack
) -> None:
    email = f"owner-{time.time_ns()}@example.com"
    admin = f"{local_stack.base_url.removesuffix('/v1')}/admin/v1/accounts"
    opened = signed("POST", admin, {"name": "Invited studio", "owner_email": email})
    assert opened.status_code == 200, opened.text
    temporary = _shown(local_stack, rf"invitation for {re.escape(email)}: temporary password (\S+)")
    page.goto(console_url(local_stack))
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(temporary)
    page.get_by_role("button", name="Sign in with email").click()
    page.get_by_label("Your invitation's password was temporary").fill(PASSWORD)
    shot(page, "26-new-password")
    page.get_by_role("button", name="Set the password and sign in").click()
    page.locator("#invitation-text", has_text="as owner").wait_for()
    page.get_by_role("button", name="Accept the invitation").click()
    page.locator('#account-status[data-value="active"]').wait_for()
    assert "owner of Invited studio" in page.locator("#account-who").inner_text()
    shot(page, "27-invited-owner")
    # The owner invites a developer, who joins; the owner then makes them billing
    colleague = f"dev-{time.time_ns()}@example.com"
    page.get_by_label("Invite by email").fill(colleague)
    page.get_by_label("Role", exact=True).select_option("developer")
    page.get_by_role("button", name="Invite", exact=True).click()
    page.locator("#invitations-table tbody tr", has_text=colleague).wait_for()
    temporary = _shown(
        local_stack, rf"invitation for {re.escape(colleague)}: temporary password (\S+)"
    )
    login = {"email": colleague, "password": temporary, "new_password": PASSWORD}
    tokens = httpx.post(f"{local_stack.base_url}/me/new-password", json=login).json()
    joined = httpx.post(
        f"{local_stack.base_url}/me/invitation",
        headers={"Authorization": f"Bearer {tokens['id_token']}"},
    )
    assert joined.json()["role"] == "developer"
    page.reload()
    page.get_by_label(f"Role of {colleague}").select_option("billing")
    page.locator("#members-status", has_text=f"{colleague} is billing now.").wait_for()
    shot(page, "28-members")
    # And the signed-in member's view passes axe-core's WCAG 2.1 AA rules
    assert axe_violations(page) == []
