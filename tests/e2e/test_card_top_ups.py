"""The card top-up loop on the running stack, as a key holder goes through it: a checkout,
the payment page, and the key credited by Stripe's event arriving through API Gateway."""

import time

import httpx
import pytest

from handler.cli.local_stacks import find_stack
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
URLS = {"success_url": "https://example.com/paid", "cancel_url": "https://example.com/back"}


def _balance(stack: Stack, headers: dict[str, str]) -> int:
    usage = httpx.get(f"{stack.base_url}/usage", headers=headers, timeout=30)
    assert usage.status_code == 200, usage.text
    balance: int = usage.json()["balance"]
    return balance


def test_a_key_holder_pays_by_card_and_is_credited_once(stack: Stack) -> None:
    if stack.state_dir is None:
        pytest.skip("pays on the local Stripe stand-in")
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    before = _balance(stack, headers)
    # When the key holder asks for a 12.00 checkout and pays on its page
    created = httpx.post(
        f"{stack.base_url}/billing/checkout",
        headers=headers,
        json={"amount": 12_000_000, **URLS},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    session = created.json()
    page = httpx.get(session["url"], timeout=30)
    assert page.status_code == 200
    assert "Pay" in page.text
    paid = httpx.post(session["url"], timeout=30)
    assert paid.status_code == 303
    assert paid.headers["location"] == URLS["success_url"]
    # Then Stripe's signed event reaches the API through the gateway and credits the key
    deadline = time.monotonic() + 30
    while _balance(stack, headers) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _balance(stack, headers) == before + 12_000_000
    ledger = httpx.get(f"{stack.base_url}/billing/transactions", headers=headers, timeout=30)
    latest = ledger.json()["data"][0]
    environment = find_stack(stack.state_dir)[1].environment
    stripe_api = environment["IMAGEGATE_STRIPE_API_BASE"]
    intent = session_intent(stripe_api, environment["IMAGEGATE_STRIPE_SECRET_KEY"], session["id"])
    # (the session's event and its PaymentIntent's race each other: the first one credits)
    assert (latest["type"], latest["source"]) == ("topup", "card")
    assert latest["reference"] in (session["id"], intent)
    # And a refund of it, made in Stripe, takes it back the same way
    httpx.post(
        f"{stripe_api}/v1/refunds",
        data={"payment_intent": intent},
        headers={"authorization": f"Bearer {environment['IMAGEGATE_STRIPE_SECRET_KEY']}"},
        timeout=30,
    ).raise_for_status()
    deadline = time.monotonic() + 30
    while _balance(stack, headers) != before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _balance(stack, headers) == before


def session_intent(stripe_api: str, secret_key: str, session_id: str) -> str:
    session = httpx.get(
        f"{stripe_api}/v1/checkout/sessions/{session_id}",
        headers={"authorization": f"Bearer {secret_key}"},
        timeout=30,
    )
    intent: str = session.json()["payment_intent"]
    return intent
