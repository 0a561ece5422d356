"""The console in a real browser: headless Chromium (Debian's), driven by Playwright, against
the local stack through its API Gateway. Each step's screenshot, and every view's at a desktop's
and a phone's width, is kept in build/test-artifacts/console/."""

import json
import re
from typing import Any

import httpx
import pytest

from tests.e2e.browser import AMOUNT, SHOTS, WAIT_MS, WIDTHS, axe_violations, console_url, shot
from tests.e2e.conftest import Stack
from tests.support import ROOT

VIEWS = ("overview", "playground", "requests", "work", "billing", "webhooks")
BUSY = ("validating", "in_progress", "finalizing", "cancelling")


def _sign_in(page: Any, stack: Stack, key: str) -> None:
    page.goto(console_url(stack))
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_wrong_key_is_refused_with_a_clear_message(page: Any, local_stack: Stack) -> None:
    _sign_in(page, local_stack, "ig_0000000000000000_wrong")
    error = page.locator("#signin-error")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("This key was refused:")
    assert page.locator("#app").is_hidden()
    assert page.evaluate("sessionStorage.length") == 0  # nothing kept of a refused key
    shot(page, "01-wrong-key")


def test_sign_in_generate_and_see_it_counted(page: Any, local_stack: Stack) -> None:
    # Given the console, signed in with the dev key
    _sign_in(page, local_stack, local_stack.api_key)
    page.locator("#stat-balance[data-value]").wait_for()
    assert "api_key" not in page.url
    assert local_stack.api_key not in page.url
    assert page.context.cookies() == []
    shot(page, "02-signed-in")
    page.locator("#ledger-table tbody tr").first.wait_for()
    last_entry = page.locator("#ledger-table tbody tr").first.get_attribute("data-entry-id")
    # When the playground makes two images
    page.get_by_label("Prompt", exact=True).fill("a red lighthouse at dusk")
    page.get_by_label("Model", exact=True).select_option("imagegate-preview")
    page.get_by_label("Size", exact=True).select_option("256x256")
    page.get_by_label("Images", exact=True).fill("2")
    page.get_by_label("Seed (optional)", exact=True).fill("7")
    page.get_by_role("button", name="Generate").click()
    page.locator("#play-status[data-cost]").wait_for()
    # Then they show, at the size asked for, with the cost and the balance left
    images = page.locator("#play-images img")
    assert images.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('#play-images img')]"
        ".every(i => i.complete && i.naturalWidth === 256)"
    )
    status = page.locator("#play-status").inner_text()
    assert re.fullmatch(r"2 image\(s\), cost (\S+); balance (\S+)\.", status)
    cost = int(page.locator("#play-status").get_attribute("data-cost"))
    assert all(AMOUNT.match(shown) for shown in re.findall(r"\$[\d,.]+\d", status))
    shot(page, "03-playground")
    # And the request is in the list, and in the chart under its model
    first = page.locator("#requests-table tbody tr").first
    assert "imagegate-preview" in first.inner_text()
    assert "2 of 2" in first.inner_text()
    spend = page.evaluate(
        "Chart.getChart('spend-chart').data.datasets.map(d => [d.label, d.data.at(-1)])"
    )
    assert dict(spend)["imagegate-preview"] > 0
    # And the ledger has its charge, without a reload
    charge = page.locator("#ledger-table tbody tr").first
    page.wait_for_function(
        "last => document.querySelector('#ledger-table tbody tr').dataset.entryId !== last",
        arg=last_entry,
    )
    assert charge.locator("td").nth(1).inner_text() == "charge"
    assert charge.locator("td.amount").get_attribute("data-micros") == str(-cost)
    # And the console's numbers are GET /v1/usage's for the same period
    _assert_numbers_match_the_api(page, local_stack)
    page.locator("#period").select_option("7")
    page.wait_for_function("() => document.getElementById('overview').dataset.days === '7'")
    _assert_numbers_match_the_api(page, local_stack)
    shot(page, "04-overview")
    # And signing out forgets the key and everything it was shown (its secret among them)
    page.get_by_role("button", name="Reveal signing secret").click()
    assert page.get_by_label("Signing secret", exact=True).input_value().startswith("whsec_")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API key", exact=True).wait_for()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.locator("#secret-value").text_content() == ""
    assert page.locator("#app").is_hidden()


def test_a_small_batch_submitted_and_watched_to_the_end(page: Any, local_stack: Stack) -> None:
    _sign_in(page, local_stack, local_stack.api_key)
    page.locator("#stat-balance[data-value]").wait_for()
    requests_before = int(page.locator("#stat-requests").get_attribute("data-value") or 0)
    page.get_by_label("Size", exact=True).select_option("256x256")
    page.get_by_label("A new batch: one prompt per line", exact=True).fill(
        "a blue door\na green field"
    )
    page.get_by_role("button", name="Submit batch").click()
    batch_id = page.locator("#work-status[data-batch-id]").get_attribute("data-batch-id")
    row = page.locator(f'#batches-table tr[data-batch-id="{batch_id}"]')
    shot(page, "05-batch-submitted")
    # The console polls on its own until the batch is final
    row.locator(".status", has_text="completed").wait_for()
    assert row.locator(".status").inner_text() == "completed"
    assert row.locator(".progress").inner_text() == "2 of 2 done"
    # And what its lines cost shows in the overview once it is done
    page.wait_for_function(
        "before => Number(document.getElementById('stat-requests').dataset.value) >= before + 2",
        arg=requests_before,
    )
    row.get_by_role("button", name="Images").click()
    page.locator("#batch-images img").nth(1).wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#batch-images img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert row.get_by_role("link", name="output.jsonl").get_attribute("href")
    shot(page, "06-batch-finished")


def test_a_card_top_up_through_checkout_credits_the_key(page: Any, local_stack: Stack) -> None:
    # The local stack takes cards through its Stripe stand-in, as a deployment with a key does
    _sign_in(page, local_stack, local_stack.api_key)
    balance = page.locator("#stat-balance[data-value]")
    before = int(balance.get_attribute("data-value"))
    notice = page.locator("#notice")
    # A payment given up on the payment page says so, back in the console
    page.get_by_label("Top up by card (USD)").fill("10")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url("**/pay/**")
    page.get_by_role("link", name="Cancel").click()
    notice.filter(has_text="Payment cancelled: nothing was charged.").wait_for()
    assert "checkout" not in page.url  # said once: a reload does not say it again
    # The payment page (Stripe Checkout's stand-in), then back to the console, still signed in
    page.get_by_label("Top up by card (USD)").fill("10")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url("**/pay/**")
    assert "stand-in" in page.title()
    shot(page, "07-checkout")
    page.get_by_role("button", name="Pay").click()
    # Then the console says what came of it, at the top, once Stripe's event has credited it
    page.locator('#notice[data-outcome="paid"]').wait_for()
    assert notice.inner_text() == "Payment received: $10.00 added to your balance."
    assert notice.evaluate("n => n.getBoundingClientRect().bottom <= innerHeight")
    assert int(balance.get_attribute("data-value") or 0) == before + 10_000_000
    page.locator("#ledger-table tbody tr", has_text="card").first.wait_for()  # its source
    shot(page, "08-topped-up")


def test_the_page_works_on_a_phone_and_by_keyboard(browser: Any, local_stack: Stack) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.goto(console_url(local_stack))
    # Tab reaches the key field, after the skip link and the email sign-in; Enter submits
    reached: list[str] = []
    while "api-key" not in reached and len(reached) < 10:
        phone.keyboard.press("Tab")
        reached.append(phone.evaluate("document.activeElement.id"))
    assert reached[1:4] == ["member-email", "member-password", ""]  # its button next
    assert reached[-1] == "api-key"
    phone.keyboard.type(local_stack.api_key)
    phone.keyboard.press("Enter")
    phone.locator("#stat-balance[data-value]").wait_for()
    # Nothing is wider than the screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # The icon came through API Gateway as the PNG it is (image/* is binary there)
    assert phone.evaluate("document.getElementById('logo').naturalWidth") == 64
    shot(phone, "09-phone")
    context.close()


@pytest.fixture
def seeded_key(local_stack: Stack) -> str:
    """A key of its own with one of everything: images, a request that failed (its model
    served nothing), an async job, a batch with a failed line, and a batch cancelled at once."""
    created = local_stack.imagegate(
        "keys", "create", "--name", "console", "--balance", "50.00", "--json"
    )
    api_key: str = json.loads(created)["api_key"]
    with httpx.Client(
        base_url=local_stack.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60
    ) as api:
        picture = {"model": "imagegate-preview", "size": "256x256"}
        assert api.post("/images/generations", json={**picture, "prompt": "a", "n": 2}).is_success
        failed = api.post("/images/generations", json={"model": "flux-schnell", "prompt": "[fail]"})
        assert failed.status_code == 502
        job = {**picture, "prompt": "a queued one", "async": True}
        assert api.post("/images/generations", json=job).status_code == 202
        lines = [{**picture, "prompt": "a blue door"}, {**picture, "prompt": "b"}, {"size": "7x7"}]
        batch = [{"custom_id": f"line-{i}", "body": body} for i, body in enumerate(lines)]
        assert api.post("/batches", json={"input": batch}).is_success
        stopped = [{"custom_id": f"s{i}", "body": {**picture, "prompt": "s"}} for i in range(20)]
        stopped_id = api.post("/batches", json={"input": stopped}).json()["id"]
        assert api.post(f"/batches/{stopped_id}/cancel").is_success
    return api_key


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_every_view_signed_in_with_data(
    browser: Any, local_stack: Stack, seeded_key: str, width: int
) -> None:
    # Given the console on a desktop's or a phone's screen, signed in with a key that has data
    context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 600)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    _sign_in(page, local_stack, seeded_key)
    for table in ("requests", "batches", "jobs", "ledger"):
        page.locator(f"#{table}-table tbody tr").first.wait_for()
    busy = " || ".join(f"s.textContent.startsWith('{status}')" for status in BUSY)
    page.wait_for_function(
        f"""() => document.querySelectorAll('#batches-table tbody tr').length === 2 &&
        ![...document.querySelectorAll('#app .status')].some(s => {busy})"""
    )
    page.locator("details").evaluate("details => { details.open = true; }")
    page.get_by_role("button", name="Reveal signing secret").click()
    assert page.get_by_label("Signing secret", exact=True).input_value().startswith("whsec_")
    # Screenshots of the whole page and of each view, as a customer sees them
    name = "desktop" if width > 600 else "phone"
    shot(page, f"10-{name}")
    for view in VIEWS:
        page.locator(f"#{view}").screenshot(path=str(SHOTS / f"11-{name}-{view}.png"))
    # Then every table has its column headers, one for each of its rows' cells
    tables = page.evaluate(
        """() => [...document.querySelectorAll('#app table')].map(t => ({
          id: t.id, rows: t.tBodies[0].rows.length,
          headers: t.tHead ? [...t.tHead.rows[0].cells].map(th => th.textContent) : [],
          cells: Math.max(...[...t.tBodies[0].rows].map(r => r.cells.length))}))"""
    )
    assert len(tables) == 5
    for table in tables:
        assert table["rows"], table
        assert len(table["headers"]) == table["cells"], table
    # And every amount names the currency, with two decimals or as many as it needs
    amounts = page.evaluate(
        """() => [...document.querySelectorAll('td.amount, #stat-balance, #stat-spend')]
          .concat(document.getElementById('stat-refunded')).map(n => n.textContent)
          .concat(Chart.getChart('spend-chart').scales.y.ticks.map(t => t.label))"""
    )
    bounds = page.locator("#topup-bounds").inner_text()
    assert re.fullmatch(r"From (\S+) to (\S+)\.", bounds)
    amounts += re.findall(r"\$[\d,.]+\d", bounds)
    assert len(amounts) > 20
    assert [a for a in amounts if not AMOUNT.match(a)] == []
    columns = page.evaluate(
        """() => [...document.querySelectorAll('#app td')].filter(td =>
          ['Cost', 'Refunded', 'Spend', 'Amount'].includes(td.dataset.label))
          .filter(td => !td.classList.contains('amount')).length"""
    )
    assert columns == 0
    # And the charts name only the models with something to show (flux-schnell served nothing)
    legends = page.evaluate(
        """() => ['spend-chart', 'images-chart'].flatMap(id => Chart.getChart(id).data.datasets
          .map(d => [d.label, d.data.some(v => v > 0)]))"""
    )
    assert {label for label, _ in legends} == {"imagegate-preview"}
    assert all(shown for _, shown in legends)
    assert "flux-schnell" in page.locator("#daily-table").inner_text()  # it was asked for
    # And a cancelled batch's bar shows what ran, not a full bar; a failed line shows as one
    stopped = page.locator("#batches-table tbody tr", has_text="cancelled")
    assert "cancelled" in stopped.locator(".progress").inner_text()
    filled = "bar => [...bar.children].reduce((sum, part) => sum + part.offsetWidth, 0)"
    assert stopped.locator(".bar").evaluate(filled) < stopped.locator(".bar").evaluate(
        "bar => bar.clientWidth"
    )
    assert page.locator("#batches-table .progress", has_text="2 of 3 done, 1 failed").count() == 1
    # And an id is copied whole
    first = page.locator("#batches-table tbody tr").first
    first.get_by_role("button", name=re.compile("^Copy batch_")).click()
    assert page.evaluate("navigator.clipboard.readText()") == first.get_attribute("data-batch-id")
    # And nothing scrolls sideways, and no row shows an empty line
    sideways = page.evaluate(
        """() => [document.documentElement, ...document.querySelectorAll('#app *')]
          .filter(e => e.scrollWidth > e.clientWidth + 1 && (e === document.documentElement
                       || ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)))
          .map(e => e.id || e.className || e.tagName)"""
    )
    assert sideways == []
    if width < 600:
        empty = page.evaluate(
            """() => [...document.querySelectorAll('#app td')].filter(td =>
              td.offsetHeight > 0 && !td.textContent.trim() && !td.children.length).length"""
        )
        assert empty == 0
    context.close()


def test_the_console_files_pass_the_gateway_byte_for_byte(local_stack: Stack) -> None:
    console = console_url(local_stack)
    browser_accept = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
    for name in ("index.html", "console.js", "console.css", "vendor/chart.umd.min.js", "icon.png"):
        accept = browser_accept if name.endswith(".png") else "*/*"
        served = httpx.get(console + name, headers={"Accept": accept})
        assert served.status_code == 200, name
        assert served.content == (ROOT / "handler" / "console" / name).read_bytes(), name
        assert "script-src 'self'" in served.headers["content-security-policy"]
    # /console, without its slash, goes to the page under the stage
    bare = httpx.get(console.rstrip("/"))
    assert bare.status_code == 308
    assert httpx.get(console.rstrip("/"), follow_redirects=True).url == console
    missing = httpx.get(console + "nope.js")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("signed_in", [False, True], ids=["sign-in", "signed-in"])
def test_axe_finds_no_accessibility_violations(
    page: Any, local_stack: Stack, signed_in: bool
) -> None:
    if signed_in:
        _sign_in(page, local_stack, local_stack.api_key)
        page.locator("#stat-balance[data-value]").wait_for()
        page.locator("details").evaluate("details => { details.open = true; }")
    else:
        page.goto(console_url(local_stack))
    violations = axe_violations(page)
    assert violations == []


def _assert_numbers_match_the_api(page: Any, stack: Stack) -> None:
    shown = page.evaluate(
        """() => {
          const value = (name) => Number(document.getElementById(`stat-${name}`).dataset.value);
          return {start: Number(document.getElementById('overview').dataset.start),
                  end: Number(document.getElementById('overview').dataset.end),
                  balance: value('balance'), spend: value('spend'), requests: value('requests'),
                  images: value('images'), refunded: value('refunded')};
        }"""
    )
    usage = httpx.get(
        f"{stack.base_url}/usage",
        headers={"Authorization": f"Bearer {stack.api_key}"},
        params={"start_time": shown["start"], "end_time": shown["end"]},
    ).json()
    for name in ("balance", "spend", "requests", "images", "refunded"):
        assert shown[name] == usage[name], name
    # and the table under the charts sums to the same per day
    rows = page.locator("#daily-table tbody tr")
    images_per_day: dict[str, int] = {}
    for index in range(rows.count()):
        day, _, _, images, *_ = rows.nth(index).locator("td").all_text_contents()
        images_per_day[day] = images_per_day.get(day, 0) + int(images)
    assert images_per_day == {d["date"]: d["images"] for d in usage["daily"]}
