"""Card top-ups end to end with the real ``stripe`` client against the local Stripe stand-in:
checkout, then Stripe's events signed as Stripe signs them, delivered once, again, at once,
out of order, stale or forged."""

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from handler.cli.stripe_stand_in import StripeStandIn, sign
from handler.config import get_settings
from tests.support import (
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    assert_error,
    balance_of,
    cards_through_stripe,
    new_key,
)

SECRET_KEY, WEBHOOK_SECRET = STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET
CHECKOUT, EVENTS = "/v1/billing/checkout", "/webhooks/stripe"
URLS = {"success_url": "https://example.com/paid", "cancel_url": "https://example.com/no"}
TEN = 10_000_000  # 10.00 in micro-units
PRICE_1024 = 4000  # imagegate-preview, 1024x1024 (infra/catalog.json)


@pytest.fixture
def stripe_local(monkeypatch: pytest.MonkeyPatch, aws: None) -> Iterator[StripeStandIn]:
    with cards_through_stripe(monkeypatch) as stand_in:
        yield stand_in


def deliver(
    client: TestClient,
    event: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    at: int | None = None,
    signature: str | None = None,
) -> Any:
    payload = json.dumps(event, indent=2)
    header = signature if signature is not None else sign(payload, secret, at or int(time.time()))
    headers = {"content-type": "application/json; charset=utf-8"}
    if header:
        headers["stripe-signature"] = header
    return client.post(EVENTS, content=payload.encode(), headers=headers)


def paid_checkout(
    client: TestClient, stand_in: StripeStandIn, auth: dict[str, str], amount: int = TEN
) -> dict[str, Any]:
    """A checkout the key holder paid: the session, with its completed event."""
    created = client.post(CHECKOUT, headers=auth, json={"amount": amount, **URLS})
    assert created.status_code == 200, created.text
    session = created.json()
    httpx.post(f"{stand_in.url}/_stand_in/sessions/{session['id']}/pay").raise_for_status()
    [event] = [
        e
        for e in stand_in.events("checkout.session.completed")
        if e["data"]["object"]["id"] == session["id"]
    ]
    return event


def _ledger(client: TestClient, auth: dict[str, str]) -> list[tuple[str, int]]:
    data = client.get("/v1/billing/transactions", headers=auth).json()["data"]
    return [(t["type"], t["amount"]) for t in data]


def test_a_paid_checkout_credits_once_however_often_it_is_delivered(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    key_id, auth = new_key(balance=0)
    # Given a checkout for 10.00, paid on Stripe's page
    event = paid_checkout(client, stripe_local, auth)
    session = stripe_local.objects[event["data"]["object"]["id"]]
    assert session["metadata"] == {"key_id": key_id}
    assert session["amount_total"] == 1000  # cents, to Stripe
    # When Stripe delivers its event three times, and eight more at once
    for _ in range(3):
        assert deliver(client, event).json() == {"received": True}
    threads = [threading.Thread(target=deliver, args=(client, event)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then the key was credited once, with one ledger entry naming the card
    assert balance_of(key_id) == TEN
    [entry] = client.get("/v1/billing/transactions", headers=auth).json()["data"]
    assert (entry["type"], entry["amount"], entry["source"], entry["actor"]) == (
        "topup",
        TEN,
        "card",
        "stripe",
    )
    assert entry["reference"] == session["id"]
    # And the key's next checkout is for the same Stripe customer
    again = client.post(CHECKOUT, headers=auth, json={"amount": TEN, **URLS}).json()
    assert stripe_local.objects[again["id"]]["customer"] == session["customer"] is not None


@pytest.mark.parametrize(
    ("how", "signature"),
    [
        ("unsigned", ""),
        ("wrong secret", None),
        ("garbled", "t=1,v1=00"),
    ],
)
def test_unsigned_or_forged_events_are_refused_and_credit_nothing(
    client: TestClient, stripe_local: StripeStandIn, how: str, signature: str | None
) -> None:
    key_id, auth = new_key(balance=0)
    event = paid_checkout(client, stripe_local, auth)
    refused = deliver(client, event, secret="whsec_other", signature=signature)
    assert refused.status_code == 400, how
    assert_error(
        refused.json(),
        type_="invalid_request_error",
        param="Stripe-Signature",
        code="invalid_signature",
    )
    assert balance_of(key_id) == 0


def test_a_stale_event_is_refused(client: TestClient, stripe_local: StripeStandIn) -> None:
    key_id, auth = new_key(balance=0)
    event = paid_checkout(client, stripe_local, auth)
    # Signed six minutes ago: a replay, whatever its signature
    assert deliver(client, event, at=int(time.time()) - 360).status_code == 400
    assert balance_of(key_id) == 0
    assert deliver(client, event).status_code == 200
    assert balance_of(key_id) == TEN


def test_refunds_and_disputes_take_the_money_back(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    key_id, auth = new_key(balance=0)
    event = paid_checkout(client, stripe_local, auth)
    deliver(client, event)
    intent = event["data"]["object"]["payment_intent"]
    # When 3.00 of it is refunded, then the rest
    for amount in (300, None):
        params = {"payment_intent": intent} | ({} if amount is None else {"amount": amount})
        httpx.post(
            f"{stripe_local.url}/v1/refunds",
            data=params,
            headers={"authorization": f"Bearer {SECRET_KEY}"},
        ).raise_for_status()
        [*_, refunded] = stripe_local.events("charge.refunded")
        assert deliver(client, refunded).status_code == 200
        assert deliver(client, refunded).status_code == 200  # and again: taken once
    # Then the key's balance is back to nothing, each refund an entry
    assert balance_of(key_id) == 0
    assert _ledger(client, auth) == [
        ("reversal", -7_000_000),
        ("reversal", -3_000_000),
        ("topup", TEN),
    ]


def test_a_dispute_takes_it_back_and_a_won_dispute_gives_it_back(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    key_id, auth = new_key(balance=0)
    event = paid_checkout(client, stripe_local, auth)
    deliver(client, event)
    # Given the key spent part of its credit
    assert (
        client.post("/v1/images/generations", headers=auth, json={"prompt": "a"}).status_code == 200
    )
    charge = stripe_local.objects[event["data"]["object"]["payment_intent"]]["latest_charge"]
    # When the payment is disputed: the whole payment is taken back; the balance goes below 0
    dispute = httpx.post(f"{stripe_local.url}/_stand_in/disputes", data={"charge": charge}).json()
    [created] = stripe_local.events("charge.dispute.created")
    assert deliver(client, created).status_code == 200
    assert balance_of(key_id) == -4000
    # Then the key pays for nothing until it is funded again
    refused = client.post("/v1/images/generations", headers=auth, json={"prompt": "a"})
    assert refused.status_code == 402
    # And when the dispute is won, the payment stands again
    httpx.post(
        f"{stripe_local.url}/_stand_in/disputes/{dispute['id']}/close", data={"status": "won"}
    )
    [closed] = stripe_local.events("charge.dispute.closed")
    assert deliver(client, closed).status_code == 200
    assert deliver(client, closed).status_code == 200
    assert balance_of(key_id) == TEN - 4000


def test_events_in_any_order_end_in_the_same_balance(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    key_id, auth = new_key(balance=0)
    event = paid_checkout(client, stripe_local, auth)
    intent = event["data"]["object"]["payment_intent"]
    httpx.post(
        f"{stripe_local.url}/v1/refunds",
        data={"payment_intent": intent, "amount": 250},
        headers={"authorization": f"Bearer {SECRET_KEY}"},
    ).raise_for_status()
    [refunded] = stripe_local.events("charge.refunded")
    # When the refund arrives before the payment it refunds
    assert deliver(client, refunded).status_code == 200
    assert balance_of(key_id) == 0
    assert deliver(client, event).status_code == 200
    # Then the key has what was paid less what was refunded, and its ledger says both
    assert balance_of(key_id) == TEN - 2_500_000
    assert sorted(_ledger(client, auth)) == [("reversal", -2_500_000), ("topup", TEN)]


def test_a_payment_that_settles_later_credits_when_it_succeeds(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    key_id, auth = new_key(balance=0)
    session = client.post(CHECKOUT, headers=auth, json={"amount": TEN, **URLS}).json()
    base = f"{stripe_local.url}/_stand_in/sessions/{session['id']}"
    httpx.post(f"{base}/pay", data={"later": "true"}).raise_for_status()
    [completed] = stripe_local.events("checkout.session.completed")
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    deliver(client, completed)
    assert balance_of(key_id) == 0  # a bank debit still on its way
    httpx.post(f"{base}/settle").raise_for_status()
    [succeeded] = stripe_local.events("checkout.session.async_payment_succeeded")
    deliver(client, succeeded)
    assert balance_of(key_id) == TEN


def test_checkout_refuses_amounts_outside_the_terms(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    _, auth = new_key(balance=0)
    for amount in (4_990_000, 1_000_000_010, 10_005_000, 0):
        refused = client.post(CHECKOUT, headers=auth, json={"amount": amount, **URLS})
        assert refused.status_code == 400, amount
        assert refused.json()["error"]["param"] == "amount"
    bad_url = client.post(CHECKOUT, headers=auth, json={"amount": TEN, **URLS, "cancel_url": "x"})
    assert bad_url.status_code == 400
    assert bad_url.json()["error"]["param"] == "cancel_url"
    assert client.post(CHECKOUT, json={"amount": TEN, **URLS}).status_code == 401


def test_a_retried_checkout_with_an_idempotency_key_gets_the_same_page(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    _, auth = new_key(balance=0)
    headers = {**auth, "Idempotency-Key": "top-up-1"}
    first = client.post(CHECKOUT, headers=headers, json={"amount": TEN, **URLS}).json()
    second = client.post(CHECKOUT, headers=headers, json={"amount": TEN, **URLS}).json()
    assert first["id"] == second["id"]


def test_a_deployment_without_cards_says_so(client: TestClient) -> None:
    _, auth = new_key(balance=0)
    answer = client.post(CHECKOUT, headers=auth, json={"amount": TEN, **URLS})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "card_payments_not_configured"
    assert client.post(EVENTS, content=b"{}").status_code == 404


def _reloads() -> list[Any]:
    from handler.aws.clients import sqs_client
    from handler.config import get_settings
    from handler.money.stored.reloads import reload_of

    answer = sqs_client().receive_message(
        QueueUrl=get_settings().reload_queue_url, MaxNumberOfMessages=10
    )
    return [reload_of(m["Body"]) for m in answer.get("Messages", [])]


def test_auto_reload_charges_the_saved_card_once_per_crossing_within_its_cap(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    from handler import accounts_container, billing_container
    from handler.core.records.keys import KeyPolicy

    # Given a key that reloads 10.00 below 9.999, at most 20.00 a month, funded by a checkout
    policy = KeyPolicy(
        1000,
        1000,
        reload_below=9_999_000,
        reload_amount=TEN,
        reload_monthly_cap=2 * TEN,
    )
    issued = accounts_container.key_admin().create("test", "reloading", policy)
    key_id, auth = issued.record.key_id, {"Authorization": f"Bearer {issued.plaintext}"}
    paid = paid_checkout(client, stripe_local, auth)
    assert stripe_local.objects[paid["data"]["object"]["id"]]["customer"]
    deliver(client, paid)
    assert balance_of(key_id) == TEN

    def spend() -> None:
        assert (
            client.post("/v1/images/generations", headers=auth, json={"prompt": "a"}).status_code
            == 200
        )

    def reload_now() -> None:
        [queued] = _reloads()
        billing_container.card_top_ups().reload(queued)
        [*_, succeeded] = stripe_local.events("payment_intent.succeeded")
        assert deliver(client, succeeded).status_code == 200
        assert deliver(client, succeeded).status_code == 200  # redelivered: credited once

    # When a charge takes it below the threshold: one reload, queued and charged
    spend()
    spend()  # still below: no second reload for the same crossing
    reload_now()
    assert balance_of(key_id) == 2 * TEN - 2 * PRICE_1024
    ledger = client.get("/v1/billing/transactions", headers=auth).json()["data"]
    assert (ledger[0]["type"], ledger[0]["source"], ledger[0]["amount"]) == ("topup", "card", TEN)
    # Then a second crossing reloads again, and a third is past the month's cap
    for _ in range(2):
        accounts_container.key_admin().move(
            "adjustment", "test", key_id, 9_999_000 - balance_of(key_id), "to the threshold"
        )
        spend()
        queued = _reloads()
        if len(queued) == 1:
            billing_container.card_top_ups().reload(queued[0])
    assert len(stripe_local.events("payment_intent.succeeded")) == 3  # checkout + 2 reloads


def test_a_declined_reload_charges_nothing_and_gives_its_month_back(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    from handler import accounts_container, billing_container
    from handler.core.records.keys import KeyPolicy

    policy = KeyPolicy(
        1000, 1000, reload_below=9_999_000, reload_amount=TEN, reload_monthly_cap=TEN
    )
    issued = accounts_container.key_admin().create("test", "declined", policy)
    key_id, auth = issued.record.key_id, {"Authorization": f"Bearer {issued.plaintext}"}
    paid = paid_checkout(client, stripe_local, auth)
    deliver(client, paid)
    customer = stripe_local.objects[paid["data"]["object"]["id"]]["customer"]
    stripe_local.declining.add(customer)
    assert (
        client.post("/v1/images/generations", headers=auth, json={"prompt": "a"}).status_code == 200
    )
    [queued] = _reloads()
    billing_container.card_top_ups().reload(queued)  # declined: logged, nothing charged
    assert balance_of(key_id) == TEN - PRICE_1024
    # The month's cap is whole again: once the key is topped up and crosses, it reloads
    stripe_local.declining.clear()
    accounts_container.key_admin().move("topup", "test", key_id, 2_000, None)
    accounts_container.key_admin().move(
        "adjustment", "test", key_id, 9_999_000 - balance_of(key_id), "to the threshold"
    )
    assert (
        client.post("/v1/images/generations", headers=auth, json={"prompt": "a"}).status_code == 200
    )
    assert len(_reloads()) == 1


def test_the_billing_account_says_what_a_card_top_up_may_be(
    client: TestClient, stripe_local: StripeStandIn
) -> None:
    _, auth = new_key(balance=1234)
    account = client.get("/v1/billing", headers=auth).json()
    settings = get_settings()
    assert account == {
        "object": "billing.account",
        "balance": 1234,
        "currency": settings.card_currency,
        "card_top_ups": {
            "currency": settings.card_currency,
            "minimum": settings.card_top_up_minimum,
            "maximum": settings.card_top_up_maximum,
        },
    }


def test_without_cards_the_billing_account_offers_none(client: TestClient) -> None:
    _, auth = new_key(balance=5)
    account = client.get("/v1/billing", headers=auth).json()
    assert account["card_top_ups"] is None
    assert account["balance"] == 5
    assert account["currency"] == "usd"  # what every amount is in, cards or not
    assert client.get("/v1/billing").status_code == 401
